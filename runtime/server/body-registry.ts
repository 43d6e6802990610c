// Bodies that live on the main thread — a client's request body, an origin's
// response body — named by id so that guests can read them on demand or hand
// them back unread to be piped straight through.
import type { Readable } from "node:stream";
import { HostError, Status } from "../abi/status.ts";
import type { ReadResult, RemoteBodyInfo } from "../engine/protocol.ts";

export interface BodySourceOptions {
  /** Declared length (Content-Length), or -1. */
  length: number;
  /** Trailers, available once the body has ended. */
  trailers?: () => string[];
  /** The request that owns the body: its bodies are released when it ends. */
  owner: number;
  /** What releasing an unread body does; by default it is destroyed (ending its origin request). */
  release?: () => void;
}

/**
 * A readable body with a cursor: reads take what arrives, the rest can be
 * taken over as a stream. A body already whole in memory (a cache hit) keeps
 * its chunks, so that a guest passing it on unread costs no stream at all.
 */
export class BodySource {
  private iteration: AsyncIterator<Uint8Array> | null = null;
  private readonly stream: Readable | null;
  private whole: readonly Uint8Array[] | null;
  private leftover: Uint8Array | null = null;
  private ended = false;
  readonly options: BodySourceOptions;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(stream: Readable | null, options: BodySourceOptions, whole: readonly Uint8Array[] | null = null) {
    this.stream = stream;
    this.options = options;
    this.whole = whole;
    // A stream is iterated from the start, so that it flows as the guest reads.
    if (stream) this.iteration = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  private get iterator(): AsyncIterator<Uint8Array> {
    if (!this.iteration) {
      const chunks = this.whole ?? [];
      this.whole = null;
      this.iteration = (async function* () {
        yield* chunks;
      })();
    }
    return this.iteration;
  }

  /** The whole body when it is in memory and nothing of it was read: taking it ends the source. */
  takeWhole(): readonly Uint8Array[] | null {
    const whole = this.whole;
    if (!whole) return null;
    this.whole = null;
    this.ended = true;
    this.consumed = whole.reduce((total, chunk) => total + chunk.byteLength, 0);
    return whole;
  }

  /** Bytes still to come when the length was declared, else -1. */
  get remaining(): number {
    return this.options.length < 0 ? -1 : Math.max(0, this.options.length - this.consumed);
  }

  /** The next bytes, up to `max`; `eof` at the end. */
  async read(max: number): Promise<ReadResult> {
    let chunk = this.leftover;
    this.leftover = null;
    if (!chunk && !this.ended) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.iterator.next();
      } catch (error) {
        throw new HostError(Status.HTTPINCOMPLETE, `body ended early: ${(error as Error).message}`);
      }
      if (next.done) this.ended = true;
      else chunk = next.value;
    }
    if (!chunk) return { chunk: null, eof: true, trailers: this.options.trailers?.() };
    if (chunk.byteLength > max) {
      this.leftover = chunk.subarray(max);
      chunk = chunk.subarray(0, max);
    }
    this.consumed += chunk.byteLength;
    return { chunk: copyOut(chunk), eof: false };
  }

  /** The rest of the body as a stream of chunks. */
  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = null;
      this.consumed += chunk.byteLength;
      yield chunk;
    }
    while (!this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      this.consumed += next.value.byteLength;
      yield next.value;
    }
  }

  get isEnded(): boolean {
    return this.ended && this.leftover === null;
  }

  /** Lets go of an unread body. */
  release(): void {
    this.whole = null;
    if (this.options.release) this.options.release();
    else if (this.stream && !this.stream.destroyed) {
      // An unfinished origin body reports its abort as an error: expected here, so it must not go unhandled.
      this.stream.on("error", () => {});
      this.stream.destroy();
    }
  }
}

/**
 * A copy a worker can own: pooled Buffers share memory with other data, which
 * must neither cross threads by reference nor be detached by a transfer.
 */
function copyOut(chunk: Uint8Array): Uint8Array {
  return new Uint8Array(chunk);
}

export class BodyRegistry {
  private readonly bodies = new Map<number, BodySource>();
  /** Body ids by the request that owns them, so that ending a request does not look at everyone's. */
  private readonly byOwner = new Map<number, Set<number>>();
  private nextId = 1;

  /** `stream`, or the body's chunks when it is whole in memory. */
  register(stream: Readable | readonly Uint8Array[], options: BodySourceOptions): RemoteBodyInfo {
    const id = this.nextId++;
    const source = Array.isArray(stream) ? new BodySource(null, options, stream) : new BodySource(stream as Readable, options);
    this.bodies.set(id, source);
    let owned = this.byOwner.get(options.owner);
    if (!owned) this.byOwner.set(options.owner, (owned = new Set()));
    owned.add(id);
    return { id, length: options.length };
  }

  get(id: number): BodySource {
    const source = this.bodies.get(id);
    if (!source) throw new HostError(Status.BADF, `body ${id} is gone`);
    return source;
  }

  /** Hands a body over to be piped elsewhere: it leaves the registry. */
  take(id: number): BodySource {
    const source = this.get(id);
    this.forget(id, source);
    return source;
  }

  release(id: number): void {
    const source = this.bodies.get(id);
    if (!source) return;
    source.release();
    this.forget(id, source);
  }

  /** Releases every body a request owns, but `keep`. */
  releaseOwnedBy(owner: number, keep?: number): void {
    const owned = this.byOwner.get(owner);
    if (!owned) return;
    for (const id of [...owned]) if (id !== keep) this.release(id);
  }

  get size(): number {
    return this.bodies.size;
  }

  private forget(id: number, source: BodySource): void {
    this.bodies.delete(id);
    const owned = this.byOwner.get(source.options.owner);
    owned?.delete(id);
    if (owned?.size === 0) this.byOwner.delete(source.options.owner);
  }
}
