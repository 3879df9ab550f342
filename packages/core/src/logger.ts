import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * One root logger per process; packages receive it (or a child) as a parameter and never create one.
 * Lines go to stdout asynchronously: while one write is in flight the next lines gather and leave
 * together, so a busy worker logging each task costs a write per batch, not per line (pino flushes
 * what is left when the process exits).
 */
export function createLogger(options: { service: string; level: LevelWithSilent }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password', '*.secret'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
