// The main thread's end of a stream a guest writes: chunks (or whole
// main-thread bodies, by id) queue here until the consumer — the client
// response or an origin request — takes them. Each chunk taken is
// acknowledged to the worker, which is how back-pressure reaches the guest.

export type StreamItem = Uint8Array | number;

export class StreamSink {
  private readonly queue: StreamItem[] = [];
  private waiting: (() => void) | null = null;
  finished = false;
  abandoned = false;
  /** Set when the consumer is gone: whatever arrives is acknowledged and dropped. */
  private dropped = false;
  trailers: string[] | null = null;
  private readonly acknowledge: (bytes: number) => void;

  constructor(acknowledge: (bytes: number) => void) {
    this.acknowledge = acknowledge;
  }

  push(item: StreamItem): void {
    if (this.dropped) {
      if (typeof item !== "number") this.acknowledge(item.byteLength);
      return;
    }
    if (this.finished) return;
    this.queue.push(item);
    this.wake();
  }

  finish(abandon: boolean, trailers: string[] | null): void {
    if (this.finished) return;
    this.finished = true;
    this.abandoned = abandon;
    this.trailers = trailers;
    this.wake();
  }

  private wake(): void {
    const wake = this.waiting;
    this.waiting = null;
    wake?.();
  }

  /** Items in order until the writer finishes; throws if it abandoned the stream. */
  async *items(): AsyncGenerator<StreamItem> {
    for (;;) {
      const item = this.queue.shift();
      if (item !== undefined) {
        yield item;
        if (typeof item !== "number") this.acknowledge(item.byteLength);
        continue;
      }
      if (this.finished) {
        if (this.abandoned) throw new Error("the guest abandoned the stream");
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Drops everything: the consumer is gone. Acknowledges so the guest is not left waiting. */
  discard(): void {
    this.dropped = true;
    let bytes = 0;
    for (const item of this.queue) if (typeof item !== "number") bytes += item.byteLength;
    this.queue.length = 0;
    if (bytes > 0) this.acknowledge(bytes);
  }
}
