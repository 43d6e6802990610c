// Reads what a probing guest wrote to its response body: the statuses and
// out-values of the host calls it made, in order. Guests write each number
// as a little-endian u32 (or i64), and each byte string as its u32 length
// followed by its bytes (see the `$emit*` functions of the abi-*.wat fixtures).
export class Results {
  private readonly view: DataView;
  private readonly data: Uint8Array;
  private offset = 0;

  constructor(bytes: Uint8Array) {
    this.data = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static async of(response: Response): Promise<Results> {
    return new Results(new Uint8Array(await response.arrayBuffer()));
  }

  private take(n: number): number {
    if (this.offset + n > this.data.byteLength) {
      throw new Error(`the guest wrote ${this.data.byteLength} bytes; reading ${n} more at ${this.offset} runs past them`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }

  i64(): bigint {
    return this.view.getBigInt64(this.take(8), true);
  }

  /** A length-prefixed byte string. */
  bytes(): Uint8Array {
    const length = this.u32();
    const at = this.take(length);
    return this.data.slice(at, at + length);
  }

  /** A length-prefixed byte string, as latin1 text (NULs kept). */
  text(): string {
    return Buffer.from(this.bytes()).toString("latin1");
  }

  /** `n` raw bytes, as latin1 text. */
  raw(n: number): string {
    const at = this.take(n);
    return Buffer.from(this.data.subarray(at, at + n)).toString("latin1");
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.data.byteLength - this.offset;
  }
}
