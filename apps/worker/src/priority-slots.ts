/**
 * Run slots, handed out highest priority first and in arrival order within a priority. The worker
 * prefetches more deliveries than it runs at once, so that the next tasks are already here when a
 * slot frees; those wait here, and a priority-9 delivery that arrives behind priority-1 ones still
 * takes the next free slot. RabbitMQ orders the queue; this orders the prefetch window.
 */
export function createPrioritySlots(size: number) {
  let active = 0;
  let arrivals = 0;
  /** sorted: priority descending, then arrival ascending */
  const waiting: { priority: number; arrival: number; grant: (granted: boolean) => void }[] = [];

  function positionFor(priority: number, arrival: number): number {
    let low = 0;
    let high = waiting.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const w = waiting[mid]!;
      if (w.priority > priority || (w.priority === priority && w.arrival < arrival)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  return {
    /**
     * Resolves true when a slot is free for a task of this priority (call release() when done with
     * it), or false when the waiting was called off (shutdown: hand the delivery back).
     */
    acquire(priority: number): Promise<boolean> {
      if (active < size && waiting.length === 0) {
        active += 1;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((grant) => {
        const arrival = arrivals++;
        waiting.splice(positionFor(priority, arrival), 0, { priority, arrival, grant });
      });
    },
    release(): void {
      const next = waiting.shift();
      if (next) next.grant(true);
      else active -= 1;
    },
    /** Calls off every wait (shutdown): those deliveries go back to the queue without running. */
    callOffWaiting(): void {
      for (const w of waiting.splice(0)) w.grant(false);
    },
    /** slots in use */
    get active(): number {
      return active;
    },
    /** deliveries waiting for a slot */
    get waiting(): number {
      return waiting.length;
    },
  };
}
export type PrioritySlots = ReturnType<typeof createPrioritySlots>;
