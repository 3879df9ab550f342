/**
 * Gathers the calls made during one turn of the event loop and sends them as one: a worker that
 * receives twenty deliveries in one socket read claims them with one script call, and stores the
 * outcomes that finished together with one more. Each caller still gets its own answer (or the
 * batch's error). Flushed on setImmediate, i.e. once the I/O callbacks of this turn have run: it adds
 * no timer delay, only the rest of the current turn.
 */
export function createTickBatcher<In, Out>(send: (items: In[]) => Promise<Out[]>, maxBatch = 500): (item: In) => Promise<Out> {
  const pending: { item: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    while (pending.length > 0) {
      const batch = pending.splice(0, maxBatch);
      send(batch.map((p) => p.item)).then(
        (outs) => batch.forEach((p, i) => p.resolve(outs[i]!)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      );
    }
  }

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
