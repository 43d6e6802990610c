// Bounds-checked access to a guest's linear memory.
//
// Every pointer a guest hands to a host call is untrusted: an access outside
// the memory is answered with `inval` (and a misaligned typed pointer with
// `badalign`), never with a host exception. Address 0 is an ordinary address.
import { HostError, Status } from "../abi/status.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

export class GuestMemory {
  readonly memory: WebAssembly.Memory;
  private bytes: Uint8Array;
  private view: DataView;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.bytes = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
  }

  private revoked = false;

  /**
   * Ends access: the run is over and the memory may serve another request.
   * A host call still finishing for the old run (one a wall-time abort woke
   * the guest from) then fails instead of writing into the next request.
   */
  revoke(): void {
    this.revoked = true;
    this.bytes = new Uint8Array(0);
  }

  /** `memory.grow` detaches the old buffer; refresh the cached views then. */
  private refresh(): void {
    if (this.revoked) throw new HostError(Status.ERROR, "the guest's run has ended");
    if (this.bytes.byteLength === 0 || this.bytes.buffer !== this.memory.buffer) {
      this.bytes = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
  }

  private check(ptr: number, len: number, align = 1): void {
    this.refresh();
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > this.bytes.byteLength) {
      throw new HostError(Status.INVAL, `guest pointer ${ptr}+${len} is outside memory`);
    }
    if (align > 1 && ptr % align !== 0) {
      throw new HostError(Status.BADALIGN, `guest pointer ${ptr} is not ${align}-byte aligned`);
    }
  }

  /** A live view of guest bytes: valid until the guest runs again. */
  slice(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    ptr >>>= 0;
    return this.bytes.subarray(ptr, ptr + (len >>> 0));
  }

  /** A copy of guest bytes that the host may keep. */
  copy(ptr: number, len: number): Uint8Array {
    return this.slice(ptr, len).slice();
  }

  /** A UTF-8 string argument; invalid UTF-8 is `inval`, as the ABI says of `string`. */
  string(ptr: number, len: number): string {
    const bytes = this.slice(ptr, len);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new HostError(Status.INVAL, "string argument is not valid UTF-8");
    }
  }

  /** Bytes as a latin1 string: a lossless form for header names and values. */
  latin1(ptr: number, len: number): string {
    const bytes = this.slice(ptr, len);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  }

  write(ptr: number, data: Uint8Array): void {
    this.check(ptr, data.byteLength);
    this.bytes.set(data, ptr >>> 0);
  }

  writeString(ptr: number, text: string): void {
    this.write(ptr, encoder.encode(text));
  }

  u8(ptr: number, value: number): void {
    this.check(ptr, 1);
    this.view.setUint8(ptr >>> 0, value);
  }

  u16(ptr: number, value: number): void {
    this.check(ptr, 2, 2);
    this.view.setUint16(ptr >>> 0, value, true);
  }

  u32(ptr: number, value: number): void {
    this.check(ptr, 4, 4);
    this.view.setUint32(ptr >>> 0, value >>> 0, true);
  }

  u64(ptr: number, value: bigint | number): void {
    this.check(ptr, 8, 8);
    this.view.setBigUint64(ptr >>> 0, BigInt.asUintN(64, BigInt(value)), true);
  }

  i64(ptr: number, value: bigint | number): void {
    this.check(ptr, 8, 8);
    this.view.setBigInt64(ptr >>> 0, BigInt.asIntN(64, BigInt(value)), true);
  }

  readU32(ptr: number): number {
    this.check(ptr, 4, 4);
    return this.view.getUint32(ptr >>> 0, true);
  }

  readU64(ptr: number): bigint {
    this.check(ptr, 8, 8);
    return this.view.getBigUint64(ptr >>> 0, true);
  }

  /** A list of u32 handles (`list<$handle>`: the length counts elements). */
  readU32List(ptr: number, count: number): number[] {
    this.check(ptr, (count >>> 0) * 4, 4);
    const out = new Array<number>(count >>> 0);
    for (let i = 0; i < out.length; i++) out[i] = this.view.getUint32((ptr >>> 0) + i * 4, true);
    return out;
  }

  /** Size of the memory in bytes. */
  get size(): number {
    this.refresh();
    return this.bytes.byteLength;
  }
}
