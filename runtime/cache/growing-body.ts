// An object's body as it is being written: readers can start at once and
// follow the writer, so one origin response streams to every client waiting
// on it while it is stored.
//
// While the object is stored the body keeps every byte, for readers yet to
// come. Once it leaves the store (evicted, purged, or too large to keep) it
// is `released`: bytes every current reader has passed are dropped, and the
// writer is held back while the slowest reader is far behind, so an object
// the cache does not keep costs no more memory than a plain proxied stream.
import { Readable } from "node:stream";

/** Unread bytes a released body holds before it asks the writer to wait. */
const HIGH_WATER = 1024 * 1024;

interface Reader {
  /** Absolute index of the next chunk to read. */
  index: number;
}

export class GrowingBody {
  private chunks: Uint8Array[] = [];
  /** Absolute index of chunks[0]: chunks before it were dropped after release. */
  private base = 0;
  private held = 0;
  private readonly readers = new Set<Reader>();
  private waiters: (() => void)[] = [];
  private retained = true;
  private drained: (() => void) | null = null;
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

  /** Adds bytes; false asks the writer to wait for `whenDrained`. */
  append(chunk: Uint8Array): boolean {
    if (this.done || chunk.byteLength === 0) return true;
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
    this.held += chunk.byteLength;
    this.wake();
    this.trim();
    return this.retained || this.held <= HIGH_WATER;
  }

  /** Calls `resume` once readers have caught up (after `append` returned false). */
  whenDrained(resume: () => void): void {
    this.drained = resume;
    this.checkDrained();
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

  /** The object left the store: keep only what current readers still need. */
  release(): void {
    if (!this.retained) return;
    this.retained = false;
    this.trim();
  }

  /** Nobody will read this body any more: a writer may stop. */
  get unwanted(): boolean {
    return !this.retained && this.readers.size === 0;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private trim(): void {
    if (this.retained) return;
    let lowest = this.base + this.chunks.length;
    for (const reader of this.readers) lowest = Math.min(lowest, reader.index);
    const drop = lowest - this.base;
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) this.held -= this.chunks[i].byteLength;
    this.chunks = this.chunks.slice(drop);
    this.base = lowest;
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.drained && (this.retained || this.held <= HIGH_WATER / 2)) {
      const resume = this.drained;
      this.drained = null;
      resume();
    }
  }

  /** Every chunk from the start, following the writer until it ends. */
  async *chunksFrom(): AsyncGenerator<Uint8Array> {
    if (this.base > 0) throw new Error("the body is no longer complete in the cache");
    const reader: Reader = { index: 0 };
    this.readers.add(reader);
    try {
      for (;;) {
        while (reader.index < this.base + this.chunks.length) {
          const chunk = this.chunks[reader.index - this.base];
          reader.index++;
          if (!this.retained) this.trim();
          yield chunk;
        }
        if (this.done) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    } finally {
      this.readers.delete(reader);
      this.trim();
    }
  }

  /**
   * The bytes written before a failure reach the reader first: the stream is
   * failed once it has handed them over (destroying it at once would drop them).
   */
  private failWhenDrained(stream: Readable, error: Error): void {
    if (stream.destroyed) return;
    if (stream.readableLength === 0) stream.destroy(error);
    else setTimeout(() => this.failWhenDrained(stream, error), 5);
  }

  /** Every chunk, when the body is complete and none was dropped; null otherwise. Not to be modified. */
  whole(): readonly Uint8Array[] | null {
    return this.done && this.error === null && this.base === 0 ? this.chunks : null;
  }

  /** All the bytes, when the body is retained and complete. */
  snapshot(): Uint8Array[] {
    return this.chunks.slice();
  }

  /**
   * A fresh stream over the whole body. Its reader is registered at once, so
   * nothing it needs is dropped before it starts; destroying the stream
   * (or reaching its end) lets go of it.
   */
  readable(): Readable {
    if (this.base > 0) throw new Error("the body is no longer complete in the cache");
    const reader: Reader = { index: 0 };
    this.readers.add(reader);
    let waiting = false;
    const pump = (stream: Readable): void => {
      waiting = false;
      while (reader.index < this.base + this.chunks.length) {
        const chunk = this.chunks[reader.index - this.base];
        reader.index++;
        if (!this.retained) this.trim();
        if (!stream.push(chunk)) return;
      }
      if (this.done) {
        if (this.error) this.failWhenDrained(stream, this.error);
        else stream.push(null);
        return;
      }
      if (!waiting) {
        waiting = true;
        this.waiters.push(() => pump(stream));
      }
    };
    return new Readable({
      read() {
        pump(this);
      },
      destroy: (error, callback) => {
        this.readers.delete(reader);
        this.trim();
        callback(error);
      },
    });
  }
}
