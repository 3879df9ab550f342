import type { Socket } from 'node:net';

/**
 * The socket under an amqplib connection (ChannelModel → Connection → stream), or undefined when
 * this amqplib keeps it elsewhere; frames are then written one by one, as amqplib does.
 */
export function socketOf(model: unknown): Socket | undefined {
  const stream = (model as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
  return stream && typeof (stream as Socket).cork === 'function' && typeof (stream as Socket).write === 'function' ? (stream as Socket) : undefined;
}

/**
 * Makes what one event-loop turn writes to `socket` leave in one `writev`.
 *
 * amqplib hands every frame (a publish, an ack) to its socket with a `write` of its own, and Node
 * turns each into a syscall, so a batch of 500 publishes, or the acks of the tasks that finished
 * together, cost 500 of them. Corking the socket at
 * a turn's first write and uncorking it on the next tick sends them together; nothing waits for a
 * timer, so latency does not grow. Call once per socket (again after a reconnect: a new socket).
 */
export function writeTurnsAtOnce(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}
