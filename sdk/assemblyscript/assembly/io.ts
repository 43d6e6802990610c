// Internal helpers: static scratch memory for out-parameters, UTF-8 and the
// ABI's buffer conventions.
import { panic } from "./console";
import { statusName } from "./status";

/** Out-parameters of one host call at a time (the guest is single-threaded). */
export const OUT: usize = memory.data(64, 16);
/** First-try buffer for values the host copies out (most fit). */
const SCRATCH_SIZE: u32 = 4096;
const SCRATCH: usize = memory.data(SCRATCH_SIZE, 16);

export const INVALID_HANDLE: u32 = 0xfffffffe;

const BUFLEN: u32 = 4;
const OK: u32 = 0;
/** For `getString6`: no status means "absent". */
export const NEVER_ABSENT: u32 = 0xffffffff;

/** A string's UTF-8 bytes. */
export function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

export function decode(ptr: usize, len: u32): string {
  return String.UTF8.decodeUnsafe(ptr, len);
}

/** Raw bytes out of a string, a Uint8Array or an ArrayBuffer: `[ptr, len]` kept alive by `keep`. */
export class Bytes {
  ptr: usize = 0;
  len: u32 = 0;
  keep: ArrayBuffer | null = null;

  static of<T>(value: T): Bytes {
    const out = new Bytes();
    if (isString<T>()) {
      const buffer = String.UTF8.encode(changetype<string>(value));
      out.keep = buffer;
      out.ptr = changetype<usize>(buffer);
      out.len = <u32>buffer.byteLength;
    } else if (value instanceof Uint8Array) {
      const view = changetype<Uint8Array>(value);
      out.keep = view.buffer;
      out.ptr = view.dataStart;
      out.len = <u32>view.byteLength;
    } else if (value instanceof ArrayBuffer) {
      const buffer = changetype<ArrayBuffer>(value);
      out.keep = buffer;
      out.ptr = changetype<usize>(buffer);
      out.len = <u32>buffer.byteLength;
    } else {
      ERROR("expected a string, a Uint8Array or an ArrayBuffer");
    }
    return out;
  }
}

/** `(h, key_ptr, key_len, buf, buf_len, nwritten_out)`: header_value_get, config_store::get, geo::lookup (method_get and uri_get without the key). */
export type Get6 = (h: u32, keyPtr: usize, keyLen: u32, buf: usize, len: u32, nwritten: usize) => u32;
/** The multi-value cursor shape: header_names_get (key ignored), header_values_get. */
export type GetMulti = (h: u32, keyPtr: usize, keyLen: u32, buf: usize, len: u32, cursor: u32, ending: usize, nwritten: usize) => u32;

/**
 * Reads a value the host copies into a buffer, growing the buffer when the
 * host answers BUFLEN (ABI §4.2). `absent` is the status meaning "no value"
 * (null is returned; `NEVER_ABSENT` when there is none); any other failure
 * stops the request naming `what`.
 */
export function getString6(fn: Get6, h: u32, keyPtr: usize, keyLen: u32, absent: u32, what: string): string | null {
  let buf = SCRATCH;
  let size = SCRATCH_SIZE;
  let grown: ArrayBuffer | null = null;
  const nwritten = OUT;
  for (;;) {
    store<u32>(nwritten, 0);
    const status = fn(h, keyPtr, keyLen, buf, size, nwritten);
    if (status == OK) return decode(buf, load<u32>(nwritten));
    if (status == BUFLEN && load<u32>(nwritten) > size) {
      size = load<u32>(nwritten);
      grown = new ArrayBuffer(<i32>size);
      buf = changetype<usize>(grown);
      continue;
    }
    if (status == absent) return null;
    panic(what + ": " + statusName(status));
    return null;
  }
}

/** Reads every item of a multi-value result (ABI §4.3): NUL-terminated items, a cursor to continue. */
export function getMulti(fn: GetMulti, h: u32, keyPtr: usize, keyLen: u32, what: string): string[] {
  const items = new Array<string>();
  let buf = SCRATCH;
  let size = SCRATCH_SIZE;
  let grown: ArrayBuffer | null = null;
  let cursor: u32 = 0;
  const ending = OUT;
  const nwritten = OUT + 8;
  for (;;) {
    store<i64>(ending, -1);
    store<u32>(nwritten, 0);
    const status = fn(h, keyPtr, keyLen, buf, size, cursor, ending, nwritten);
    if (status == BUFLEN && load<u32>(nwritten) > size) {
      size = load<u32>(nwritten);
      grown = new ArrayBuffer(<i32>size);
      buf = changetype<usize>(grown);
      continue;
    }
    if (status != OK) {
      panic(what + ": " + statusName(status));
      return items;
    }
    const end = load<u32>(nwritten);
    let start: u32 = 0;
    for (let i: u32 = 0; i < end; i++) {
      if (load<u8>(buf + i) == 0) {
        items.push(decode(buf + start, i - start));
        start = i + 1;
      }
    }
    const next = load<i64>(ending);
    if (next < 0) return items;
    cursor = <u32>next;
  }
  return items;
}
