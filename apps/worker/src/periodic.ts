/**
 * Runs `round` every `intervalMs`, one round at a time (a slow round delays the next instead of
 * overlapping it). close() stops the timer and waits for the round under way.
 */
export function runPeriodically(intervalMs: number, round: () => Promise<void>, onError: (err: unknown) => void): { close(): Promise<void> } {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    current = current.then(round).catch(onError);
  }, intervalMs);
  return {
    async close() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
