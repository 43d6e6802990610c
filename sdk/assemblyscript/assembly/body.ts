// Bodies: bytes held by the host, read and written through a handle.
import * as body from "./abi/http_body";
import { Bytes, decode, INVALID_HANDLE, OUT } from "./io";
import { check, Status } from "./status";

const CHUNK: u32 = 64 * 1024;

/** Writes all of `[ptr, ptr+len)` to a body (the host may take it in parts). */
function writeAll(handle: u32, ptr: usize, len: u32, front: bool): void {
  let left = len;
  while (left > 0) {
    check(body.write(handle, ptr, left, front ? 1 : 0, OUT), "write body");
    const written = load<u32>(OUT);
    if (front) return; // writing at the front takes the whole buffer
    ptr += written;
    left -= written;
  }
}

/** A request or response body, or one made with `new Body()`. */
export class Body {
  /** The host's handle (advanced use: the raw `abi/*` calls take it). */
  handle: u32;

  constructor(handle: u32 = INVALID_HANDLE) {
    if (handle == INVALID_HANDLE) {
      check(body.new_(OUT), "create body");
      handle = load<u32>(OUT);
    }
    this.handle = handle;
  }

  /** A new body holding `value` (a string, Uint8Array or ArrayBuffer). */
  static from<T>(value: T): Body {
    const out = new Body();
    out.write<T>(value);
    return out;
  }

  /** Up to `max` bytes, waiting for at least one; an empty array at the end of the body. */
  read(max: u32 = CHUNK): Uint8Array {
    const chunk = new Uint8Array(<i32>max);
    const n = this.readInto(chunk);
    return n == chunk.length ? chunk : chunk.subarray(0, n);
  }

  /** Reads into `buffer`, waiting for at least one byte; returns the count, 0 at the end of the body. */
  readInto(buffer: Uint8Array): i32 {
    check(body.read(this.handle, buffer.dataStart, <u32>buffer.byteLength, OUT), "read body");
    return <i32>load<u32>(OUT);
  }

  /** The rest of the body. */
  bytes(): Uint8Array {
    const known = this.knownLength();
    // A known length is read into one buffer (the last read, at the end, needs a byte of room).
    let capacity: i32 = known >= 0 && known < 0x7fff0000 ? <i32>known + 1 : <i32>CHUNK;
    let buffer = new ArrayBuffer(capacity);
    let length: i32 = 0;
    for (;;) {
      if (length == capacity) {
        capacity *= 2;
        const bigger = new ArrayBuffer(capacity);
        memory.copy(changetype<usize>(bigger), changetype<usize>(buffer), <usize>length);
        buffer = bigger;
      }
      const base = changetype<usize>(buffer);
      check(body.read(this.handle, base + length, <u32>(capacity - length), OUT), "read body");
      const n = <i32>load<u32>(OUT);
      if (n == 0) break;
      length += n;
    }
    return Uint8Array.wrap(buffer, 0, length);
  }

  /** The rest of the body as UTF-8 text. */
  text(): string {
    const all = this.bytes();
    return decode(all.dataStart, <u32>all.byteLength);
  }

  /** Appends a string (as UTF-8), a Uint8Array or an ArrayBuffer. */
  write<T>(value: T): void {
    const bytes = Bytes.of<T>(value);
    writeAll(this.handle, bytes.ptr, bytes.len, false);
  }

  /** Inserts bytes before the current content. */
  prepend<T>(value: T): void {
    const bytes = Bytes.of<T>(value);
    writeAll(this.handle, bytes.ptr, bytes.len, true);
  }

  /** Moves all of `other` to the end of this body, without copying through the guest; `other` is used up. */
  append(other: Body): void {
    check(body.append(this.handle, other.handle), "append body");
    other.handle = INVALID_HANDLE;
  }

  /** The length when the host knows it (a client body with Content-Length, a body written here), else -1. */
  knownLength(): i64 {
    const status = body.known_length(this.handle, OUT);
    if (status == Status.NONE) return -1;
    check(status, "body length");
    return <i64>load<u64>(OUT);
  }

  /** Frees the body. */
  close(): void {
    check(body.close(this.handle), "close body");
    this.handle = INVALID_HANDLE;
  }
}

/**
 * The write end of a body already on its way (a streamed response): each
 * write goes out now. End it with `finish()`; `abandon()` leaves it
 * incomplete so that the receiver sees an error.
 */
export class StreamingBody {
  handle: u32;

  constructor(handle: u32) {
    this.handle = handle;
  }

  write<T>(value: T): void {
    const bytes = Bytes.of<T>(value);
    writeAll(this.handle, bytes.ptr, bytes.len, false);
  }

  /** Sends all of `other` (e.g. a backend response's body) through this stream; `other` is used up. */
  append(other: Body): void {
    check(body.append(this.handle, other.handle), "append body");
    other.handle = INVALID_HANDLE;
  }

  /** Ends the body successfully. */
  finish(): void {
    check(body.close(this.handle), "finish body");
    this.handle = INVALID_HANDLE;
  }

  /** Ends the body as failed. */
  abandon(): void {
    check(body.abandon(this.handle), "abandon body");
    this.handle = INVALID_HANDLE;
  }
}
