// A body as the guest sees it through a body handle.
//
// A body is a queue of parts: bytes the guest wrote and bodies that live on
// the main thread (the client's request body, an origin's response), read
// only when the guest asks. Sending a body passes the unread main-thread
// parts back by id, so a proxied response never crosses threads.
import { HostError, Status } from "../abi/status.ts";
import type { BodyPart, ReadResult, RemoteBodyInfo } from "../engine/protocol.ts";
import { Headers } from "./headers.ts";
import type { StreamWriter } from "./stream-writer.ts";

/** How a body reads a main-thread part. */
export interface RemoteReader {
  read(id: number, max: number): Promise<ReadResult>;
}

/** Bytes pulled per round trip to the main thread, at least. */
const READ_AHEAD = 64 * 1024;

/** A main-thread body, with what has been pulled from it but not yet read by the guest. */
export class RemotePart {
  readonly id: number;
  /** Bytes still to come from the main thread, or -1 when unknown. */
  remaining: number;
  buffered: Uint8Array[] = [];
  eof = false;
  error: HostError | null = null;
  trailers: string[] | null = null;
  private inflight: Promise<void> | null = null;

  constructor(info: RemoteBodyInfo) {
    this.id = info.id;
    this.remaining = info.length;
  }

  get bufferedBytes(): number {
    let n = 0;
    for (const chunk of this.buffered) n += chunk.byteLength;
    return n;
  }

  /** True when a read would not wait. */
  get ready(): boolean {
    return this.buffered.length > 0 || this.eof || this.error !== null;
  }

  /** Pulls the next bytes; concurrent callers share one round trip. */
  fill(reader: RemoteReader, max: number): Promise<void> {
    this.inflight ??= reader.read(this.id, Math.max(max, READ_AHEAD)).then(
      (result) => {
        this.inflight = null;
        if (result.chunk && result.chunk.byteLength > 0) {
          this.buffered.push(result.chunk);
          if (this.remaining >= 0) this.remaining = Math.max(0, this.remaining - result.chunk.byteLength);
        }
        if (result.eof) {
          this.eof = true;
          this.trailers = result.trailers ?? null;
        }
      },
      (error: unknown) => {
        this.inflight = null;
        this.error = error instanceof HostError ? error : new HostError(Status.ERROR, String(error));
      },
    );
    return this.inflight;
  }

  /** Waits for a pull in progress, so that no bytes are in transit when the body changes hands. */
  settle(): Promise<void> | null {
    return this.inflight;
  }
}

export class Body {
  readonly parts: (Uint8Array | RemotePart)[] = [];
  /** Trailers written by the guest (`trailer_append`) or received at the end of a main-thread body. */
  readonly trailers = new Headers();
  /** Set when this handle became the write end of a stream to the main thread. */
  stream: StreamWriter | null = null;

  static fromRemote(info: RemoteBodyInfo | null): Body {
    const body = new Body();
    if (info) body.parts.push(new RemotePart(info));
    return body;
  }

  get isStreaming(): boolean {
    return this.stream !== null;
  }

  /** Whether every part has been read to its end (trailers are then final). */
  get complete(): boolean {
    return this.parts.length === 0;
  }

  write(chunk: Uint8Array, front: boolean): void {
    if (chunk.byteLength === 0) return;
    if (front) this.parts.unshift(chunk);
    else this.parts.push(chunk);
  }

  /** Moves every part of `src` to the end of this body. */
  appendBody(src: Body): void {
    this.parts.push(...src.parts);
    src.parts.length = 0;
    for (const name of src.trailers.names()) this.trailers.setAll(name, [...src.trailers.getAll(name)]);
  }

  /** Total length when every part's length is known. */
  knownLength(): number | null {
    let total = 0;
    for (const part of this.parts) {
      if (part instanceof Uint8Array) total += part.byteLength;
      else if (part.error || (part.remaining < 0 && !part.eof)) return null;
      else total += part.bufferedBytes + Math.max(0, part.remaining);
    }
    return total;
  }

  /** True when `read` would return without waiting. */
  get ready(): boolean {
    const first = this.parts[0];
    return first === undefined || first instanceof Uint8Array || first.ready;
  }

  /**
   * Reads up to `max` bytes; an empty result is the end of the body.
   * Returns synchronously when bytes are at hand.
   */
  read(max: number, reader: RemoteReader): Uint8Array | Promise<Uint8Array> {
    for (;;) {
      const first = this.parts[0];
      if (first === undefined || max === 0) return EMPTY;
      if (first instanceof Uint8Array) return this.takeLocal(first, max);
      if (first.buffered.length > 0) return this.takeBuffered(first, max);
      if (first.error) throw first.error;
      if (!first.eof) return first.fill(reader, max).then(() => this.read(max, reader));
      // This part is finished: keep its trailers, move to the next part.
      if (first.trailers) {
        const trailers = Headers.fromFlat(first.trailers);
        for (const name of trailers.names()) this.trailers.setAll(name, [...trailers.getAll(name)]);
      }
      this.parts.shift();
    }
  }

  /** Starts pulling the next bytes so that a later `ready` check can succeed. */
  prefetch(reader: RemoteReader): Promise<void> | null {
    const first = this.parts[0];
    if (first instanceof RemotePart && !first.ready) return first.fill(reader, READ_AHEAD);
    return null;
  }

  private takeLocal(chunk: Uint8Array, max: number): Uint8Array {
    if (chunk.byteLength <= max) {
      this.parts.shift();
      return chunk;
    }
    this.parts[0] = chunk.subarray(max);
    return chunk.subarray(0, max);
  }

  private takeBuffered(part: RemotePart, max: number): Uint8Array {
    const chunk = part.buffered[0];
    if (chunk.byteLength <= max) {
      part.buffered.shift();
      return chunk;
    }
    part.buffered[0] = chunk.subarray(max);
    return chunk.subarray(0, max);
  }

  /**
   * The parts to hand to the main thread, emptying this body. Waits for
   * pulls in progress so that no bytes are lost in transit.
   */
  async drain(): Promise<BodyPart[]> {
    for (const part of this.parts) if (part instanceof RemotePart) await part.settle();
    return this.drainNow();
  }

  /** Like `drain`, for bodies known to have no pull in progress. */
  drainNow(): BodyPart[] {
    const out: BodyPart[] = [];
    for (const part of this.parts) {
      if (part instanceof Uint8Array) {
        out.push(part);
        continue;
      }
      if (part.error) throw part.error;
      out.push(...part.buffered);
      if (!part.eof) out.push(part.id);
    }
    this.parts.length = 0;
    return out;
  }

  /** Whether a pull is in progress, so `drainNow` would be unsafe. */
  get pulling(): boolean {
    return this.parts.some((part) => part instanceof RemotePart && part.settle() !== null);
  }

  /** Main-thread bodies this body still refers to (to release them when it is dropped). */
  remoteIds(): number[] {
    return this.parts.filter((part) => part instanceof RemotePart && !part.eof).map((part) => (part as RemotePart).id);
  }
}

const EMPTY = new Uint8Array(0);

