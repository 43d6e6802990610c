// The ABI's conventions for returning variable-length data to the guest.
import { Status } from "../abi/status.ts";
import type { GuestMemory } from "../engine/guest-memory.ts";

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function latin1(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/**
 * A single value into (buf, max): when it does not fit, the needed length
 * goes to `nwrittenOut` and the status is `buflen`, the buffer untouched.
 */
export function writeValue(mem: GuestMemory, buf: number, max: number, nwrittenOut: number, value: Uint8Array): number {
  if (value.byteLength > max >>> 0) {
    mem.u32(nwrittenOut, value.byteLength);
    return Status.BUFLEN;
  }
  mem.write(buf, value);
  mem.u32(nwrittenOut, value.byteLength);
  return Status.OK;
}

/**
 * A list of items (header names or values) with the cursor protocol: from
 * item `cursor`, whole items each followed by NUL while they fit; the index
 * of the first item left out (or -1 when none is) goes to `endingCursorOut`.
 */
export function writeMultiValue(
  mem: GuestMemory,
  items: readonly Uint8Array[],
  buf: number,
  bufLen: number,
  cursor: number,
  endingCursorOut: number,
  nwrittenOut: number,
): number {
  cursor >>>= 0;
  bufLen >>>= 0;
  if (cursor >= items.length) {
    mem.i64(endingCursorOut, -1);
    mem.u32(nwrittenOut, 0);
    return Status.OK;
  }
  let written = 0;
  let index = cursor;
  for (; index < items.length; index++) {
    const item = items[index];
    if (written + item.byteLength + 1 > bufLen) break;
    mem.write(buf + written, item);
    mem.u8(buf + written + item.byteLength, 0);
    written += item.byteLength + 1;
  }
  if (index === cursor) {
    // Not even the first item fits: report what it needs.
    mem.i64(endingCursorOut, -1);
    mem.u32(nwrittenOut, items[cursor].byteLength + 1);
    return Status.BUFLEN;
  }
  mem.i64(endingCursorOut, index < items.length ? index : -1);
  mem.u32(nwrittenOut, written);
  return Status.OK;
}

/** IP address text to the 4 or 16 octets the ABI returns. */
export function ipOctets(address: string): Uint8Array | null {
  const mapped = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(mapped)) return Uint8Array.from(mapped.split(".").map(Number));
  if (!mapped.includes(":")) return null;
  const [head, tail = ""] = mapped.split("::");
  const parse = (part: string) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const groups = mapped.includes("::") ? [...left, ...new Array(8 - left.length - right.length).fill(0), ...right] : left;
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const out = new Uint8Array(16);
  groups.forEach((group, i) => {
    out[i * 2] = group >> 8;
    out[i * 2 + 1] = group & 0xff;
  });
  return out;
}

/** Writes an address's octets into a 16-byte buffer with the count to `nOut`. */
export function writeIp(mem: GuestMemory, address: string | null, out: number, nOut: number): number {
  const octets = address ? ipOctets(address) : null;
  if (!octets) return Status.NONE;
  mem.write(out, octets);
  mem.u32(nOut, octets.byteLength);
  return Status.OK;
}
