// Messages between the main thread and a worker travel in batches: every
// message posted during one turn of the event loop goes out as one array in
// one `postMessage`. A thread hop costs about the same for one message as
// for fifty (structured clone aside, it is a wake-up of the other thread and
// a message event there), and under load one turn handles many requests.
//
// The batch leaves when the turn ends (setImmediate), at the next post once
// it has waited `maxDelayMs`, or at once with an urgent message: what a
// guest sends its client (a response, stream writes, log lines) must not
// wait for the guest to yield, since a guest that keeps computing may be
// stopped at its CPU limit before it does.
import { performance } from "node:perf_hooks";

interface Port {
  postMessage(value: unknown, transferList: ArrayBuffer[]): void;
}

export class MessageBatch<T> {
  private readonly port: Port;
  private readonly maxDelayMs: number;
  private queue: T[] = [];
  private transfer: ArrayBuffer[] = [];
  private scheduled = false;
  private queuedAt = 0;

  constructor(port: Port, maxDelayMs = 2) {
    this.port = port;
    this.maxDelayMs = maxDelayMs;
  }

  post(message: T, transfer?: readonly ArrayBuffer[], urgent = false): void {
    if (this.queue.length === 0) this.queuedAt = performance.now();
    this.queue.push(message);
    if (transfer) for (const buffer of transfer) if (!this.transfer.includes(buffer)) this.transfer.push(buffer);
    if (urgent) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurnEnd);
    } else if (performance.now() - this.queuedAt > this.maxDelayMs) {
      this.flush();
    }
  }

  /** Sends what is queued now. */
  flush(): void {
    if (this.queue.length === 0) return;
    const queue = this.queue;
    const transfer = this.transfer;
    this.queue = [];
    this.transfer = [];
    this.port.postMessage(queue, transfer);
  }

  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
