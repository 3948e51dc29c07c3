import { MessageChannel } from 'node:worker_threads';
import { DeadlineQueue, RedisTimeoutError } from './deadline';

/** Blocks this thread until `ms` have passed (a long GC pause, a CPU-starved process). */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

/**
 * Runs `work` in an I/O callback, where a server's code runs (a request, a Redis reply): after
 * such a callback Node runs the due timers before it reads the sockets again.
 */
function inIoCallback<T>(work: () => T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<T>((resolve) => {
    port2.once('message', () => {
      port2.close();
      resolve(work());
    });
    port1.postMessage('go');
  });
}

/**
 * A reply delivered as I/O: `send()` queues it at once, but this thread reads it only in the
 * event loop's I/O phase, as it reads a Redis reply waiting in its socket.
 */
function ioReply(value: string): { reply: Promise<string>; send(): void; close(): void } {
  const { port1, port2 } = new MessageChannel();
  const reply = new Promise<string>((resolve) => port2.once('message', resolve));
  return {
    reply,
    send: () => port1.postMessage(value),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

describe('DeadlineQueue', () => {
  let queue: DeadlineQueue;
  afterEach(() => queue.close());

  it('fails a call no reply settles once its timeout has passed', async () => {
    queue = new DeadlineQueue(5);
    const never = new Promise<string>(() => undefined);
    await expect(queue.run(never, 'a test read')).rejects.toThrow(RedisTimeoutError);
  });

  it('answers with a reply that came in time while this process was stalled past the deadline', async () => {
    queue = new DeadlineQueue(20);
    const io = ioReply('v');
    try {
      const call = await inIoCallback(() => {
        const pending = queue.run(io.reply, 'a test read');
        io.send();
        // The reply is in, unread, and the thread stays busy past the deadline: Node then runs
        // the due timer before it reads the reply, which must not count as late.
        stall(40);
        return { pending };
      });
      await expect(call.pending).resolves.toBe('v');
    } finally {
      io.close();
    }
  });
});
