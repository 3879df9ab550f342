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
  const waiting: { priority: number; arrival: number; queue: string; grant: (granted: boolean) => void }[] = [];

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
    acquire(priority: number, queue = ''): Promise<boolean> {
      if (active < size && waiting.length === 0) {
        active += 1;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((grant) => {
        const arrival = arrivals++;
        waiting.splice(positionFor(priority, arrival), 0, { priority, arrival, queue, grant });
      });
    },
    release(): void {
      const next = waiting.shift();
      if (next) next.grant(true);
      else active -= 1;
    },
    /**
     * Calls off the waits (shutdown: all; a pause: those of the paused queues): those deliveries go
     * back to their queue without running.
     */
    callOffWaiting(queues?: ReadonlySet<string>): void {
      for (let i = waiting.length - 1; i >= 0; i--) {
        const w = waiting[i]!;
        if (queues && !queues.has(w.queue)) continue;
        waiting.splice(i, 1);
        w.grant(false);
      }
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
