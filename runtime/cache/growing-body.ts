// An object's body as it is being written: readers can start at once and
// follow the writer, so one origin response streams to every client waiting
// on it while it is stored.
import { Readable } from "node:stream";

export class GrowingBody {
  private readonly chunks: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  /** Bytes written so far. */
  length = 0;
  done = false;
  error: Error | null = null;
  trailers: string[] = [];

  /** A body that is complete already. */
  static of(chunks: readonly Uint8Array[], trailers: string[] = []): GrowingBody {
    const body = new GrowingBody();
    for (const chunk of chunks) body.append(chunk);
    body.end(trailers);
    return body;
  }

  append(chunk: Uint8Array): void {
    if (this.done || chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
    this.wake();
  }

  end(trailers: string[] = []): void {
    if (this.done) return;
    this.done = true;
    this.trailers = trailers;
    this.wake();
  }

  /** The writer failed: readers see the error after the bytes written so far. */
  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.done = true;
    this.wake();
  }

  get complete(): boolean {
    return this.done && this.error === null;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Every chunk from the start, following the writer until it ends. */
  async *chunksFrom(start = 0): AsyncGenerator<Uint8Array> {
    let index = start;
    for (;;) {
      while (index < this.chunks.length) yield this.chunks[index++];
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** All the bytes, once the body is complete. */
  snapshot(): Uint8Array[] {
    return this.chunks.slice();
  }

  /** A fresh stream over the whole body. */
  readable(): Readable {
    return Readable.from(this.chunksFrom(), { objectMode: false });
  }
}
