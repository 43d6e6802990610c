// The write end of a stream whose reader is on the main thread: a streaming
// response to the client or a streaming request body to an origin.
//
// Writes are posted without waiting; once more than HIGH_WATER bytes are
// unacknowledged the guest's next write waits, so a slow reader slows the
// guest instead of filling memory.
import { HostError, Status } from "../abi/status.ts";

export const HIGH_WATER = 1024 * 1024;

export interface StreamSink {
  write(stream: number, chunk: Uint8Array | number): void;
  finish(stream: number, abandon: boolean, trailers: string[] | null): void;
}

export class StreamWriter {
  readonly id: number;
  private readonly sink: StreamSink;
  private unacked = 0;
  private waiters: (() => void)[] = [];
  finished = false;

  constructor(id: number, sink: StreamSink) {
    this.id = id;
    this.sink = sink;
  }

  /** Writes a chunk, or passes a main-thread body by id to be copied into the stream. */
  write(chunk: Uint8Array | number): void | Promise<void> {
    if (this.finished) throw new HostError(Status.BADF, "stream already closed");
    this.sink.write(this.id, chunk);
    if (typeof chunk !== "number") this.unacked += chunk.byteLength;
    if (this.unacked > HIGH_WATER) return new Promise((resolve) => this.waiters.push(resolve));
  }

  acknowledge(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    if (this.unacked <= HIGH_WATER) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  finish(abandon: boolean, trailers: string[] | null = null): void {
    if (this.finished) return;
    this.finished = true;
    this.sink.finish(this.id, abandon, trailers);
    this.acknowledge(Number.MAX_SAFE_INTEGER);
  }
}
