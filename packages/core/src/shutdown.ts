import type { Logger } from 'pino';

export interface Closable {
  name: string;
  close(): Promise<void>;
}

/**
 * Ordered, idempotent shutdown. Steps run in the order given (callers pass them in reverse start
 * order) and every step runs even when an earlier one fails. A second signal forces exit.
 * Returns `stop(reason)` so tests and the CLI can trigger it without a signal.
 */
export function installShutdown(log: Logger, steps: Closable[], graceMs: number): (reason: string) => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ reason }, 'shutdown started');
      const force = setTimeout(() => {
        log.error({ grace_ms: graceMs }, 'shutdown grace expired, forcing exit');
        process.exit(1);
      }, graceMs);
      force.unref();
      for (const step of steps) {
        try {
          await step.close();
        } catch (err) {
          log.error({ err, step: step.name }, 'close step failed');
        }
      }
      clearTimeout(force);
      log.info('shutdown complete');
    })());

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.error({ signal }, 'second signal, forcing exit');
      process.exit(1);
    }
    void stop(signal).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  return stop;
}
