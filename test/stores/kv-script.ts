// Scripts for the scriptable KV guest (test/fixtures/wat/kv-script.wat):
// build a list of host calls, send it as the request body, and read back
// what each call returned.
//
//   const s = new KvScript();
//   s.open("store", 0);
//   const found = s.lookupWait(1);
//   const out = await s.run(server);
//   out[found].kvError; out[found].text;
import { Results } from "../helpers/results.ts";

export const Status = { OK: 0, ERROR: 1, INVAL: 2, BADF: 3, BUFLEN: 4, NONE: 10 } as const;
export const KvError = { OK: 1, BAD_REQUEST: 2, NOT_FOUND: 3, PRECONDITION_FAILED: 4, PAYLOAD_TOO_LARGE: 5 } as const;
export const InsertMask = { RESERVED: 1, BACKGROUND_FETCH: 2, RESERVED_2: 4, METADATA: 8, TTL: 16, IF_GENERATION_MATCH: 32 } as const;
export const ListMask = { RESERVED: 1, CURSOR: 2, LIMIT: 4, PREFIX: 8 } as const;
export const Mode = { OVERWRITE: 0, ADD: 1, APPEND: 2, PREPEND: 3 } as const;
export const INVALID_HANDLE = 0xfffffffe;

/** What a call returned. */
export interface Outcome {
  status: number;
  kvError?: number;
  /** Metadata length reported (nwritten). */
  nwritten?: number;
  generation?: bigint;
  metadata?: string;
  /** The value or list body, when one was handed out. */
  bytes?: Uint8Array;
  text?: string;
  /** is_ready's answer, select's index; 1/0 for whether an object-store lookup found a value. */
  value?: number;
}

export interface InsertOptions {
  mode?: number;
  metadata?: string | Uint8Array;
  ttlSec?: number;
  ifGenerationMatch?: bigint;
  backgroundFetch?: boolean;
  /** Bits to add to the mask computed from the options given. */
  extraMask?: number;
}

export interface ListOptions {
  mode?: number;
  cursor?: string;
  limit?: number;
  prefix?: string;
  extraMask?: number;
}

type Reader = (r: Results) => Outcome;

const encoder = new TextEncoder();
const bytesOf = (value: string | Uint8Array) => (typeof value === "string" ? encoder.encode(value) : value);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

export class KvScript {
  private words: number[] = [];
  private readonly readers: Reader[] = [];

  private u32(...values: number[]): void {
    for (const value of values) this.words.push(value >>> 0);
  }

  private u64(value: bigint): void {
    this.u32(Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn));
  }

  private str(value: string | Uint8Array): void {
    const bytes = bytesOf(value);
    this.u32(bytes.byteLength);
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    const view = new DataView(padded.buffer);
    for (let i = 0; i < padded.byteLength; i += 4) this.words.push(view.getUint32(i, true));
  }

  private op(reader: Reader): number {
    this.readers.push(reader);
    return this.readers.length - 1;
  }

  private static status: Reader = (r) => ({ status: r.u32() });

  open(name: string, reg: number): number {
    this.u32(1);
    this.str(name);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  lookup(store: number, key: string | Uint8Array, reg: number, mask = 0): number {
    this.u32(2, store);
    this.str(key);
    this.u32(mask, reg);
    return this.op(KvScript.status);
  }

  /** `lookup_wait_v2` with a metadata buffer of `metadataBuf` bytes (at most 4096). */
  lookupWait(reg: number, metadataBuf = 4096): number {
    this.u32(3, reg, metadataBuf);
    return this.op((r) => {
      const status = r.u32();
      const out: Outcome = { status, kvError: r.u32(), nwritten: r.u32(), generation: r.i64() };
      return found(r, out);
    });
  }

  /** The deprecated `lookup_wait` (u32 generation). */
  lookupWaitV1(reg: number, metadataBuf = 4096): number {
    this.u32(4, reg, metadataBuf);
    return this.op((r) => {
      const status = r.u32();
      const out: Outcome = { status, kvError: r.u32(), nwritten: r.u32(), generation: BigInt(r.u32()) };
      return found(r, out);
    });
  }

  /** `lookup_wait_v2` with a metadata buffer at any address (to test pointers): status only. */
  lookupWaitAt(reg: number, metadataPtr: number, metadataLen: number): number {
    this.u32(14, reg, metadataPtr, metadataLen);
    return this.op(KvScript.status);
  }

  insert(store: number, key: string | Uint8Array, value: string | Uint8Array, reg: number, options: InsertOptions = {}): number {
    let mask = options.extraMask ?? 0;
    if (options.metadata !== undefined) mask |= InsertMask.METADATA;
    if (options.ttlSec !== undefined) mask |= InsertMask.TTL;
    if (options.ifGenerationMatch !== undefined) mask |= InsertMask.IF_GENERATION_MATCH;
    if (options.backgroundFetch) mask |= InsertMask.BACKGROUND_FETCH;
    this.u32(5, store);
    this.str(key);
    this.str(value);
    this.u32(mask, options.mode ?? Mode.OVERWRITE);
    this.str(options.metadata ?? "");
    this.u32(options.ttlSec ?? 0);
    this.u64(options.ifGenerationMatch ?? 0n);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  /** Inserts a value of `size` zero bytes, written into the body 1 MiB at a time (overwrite, no options). */
  insertSized(store: number, key: string, size: number, reg: number): number {
    this.u32(15, store);
    this.str(key);
    this.u32(size, reg);
    return this.op(KvScript.status);
  }

  insertWait(reg: number): number {
    this.u32(6, reg);
    return this.op((r) => ({ status: r.u32(), kvError: r.u32() }));
  }

  delete(store: number, key: string | Uint8Array, reg: number, mask = 0): number {
    this.u32(7, store);
    this.str(key);
    this.u32(mask, reg);
    return this.op(KvScript.status);
  }

  deleteWait(reg: number): number {
    this.u32(8, reg);
    return this.op((r) => ({ status: r.u32(), kvError: r.u32() }));
  }

  list(store: number, reg: number, options: ListOptions = {}): number {
    let mask = options.extraMask ?? 0;
    if (options.cursor !== undefined) mask |= ListMask.CURSOR;
    if (options.limit !== undefined) mask |= ListMask.LIMIT;
    if (options.prefix !== undefined) mask |= ListMask.PREFIX;
    this.u32(9, store, mask, options.mode ?? 0);
    this.str(options.cursor ?? "");
    this.u32(options.limit ?? 0);
    this.str(options.prefix ?? "");
    this.u32(reg);
    return this.op(KvScript.status);
  }

  listWait(reg: number): number {
    this.u32(10, reg);
    return this.op((r) => {
      const out: Outcome = { status: r.u32(), kvError: r.u32() };
      if (out.status === 0 && out.kvError === KvError.OK) {
        out.bytes = r.bytes();
        out.text = text(out.bytes);
      }
      return out;
    });
  }

  isReady(reg: number): number {
    this.u32(11, reg);
    return this.op((r) => ({ status: r.u32(), value: r.u32() }));
  }

  select(reg: number, timeoutMs: number): number {
    this.u32(12, reg, timeoutMs);
    return this.op((r) => ({ status: r.u32(), value: r.u32() }));
  }

  /** Puts a raw value in a register (a bad handle, say). */
  set(reg: number, value: number): void {
    this.u32(13, reg, value);
  }

  objOpen(name: string, reg: number): number {
    this.u32(20);
    this.str(name);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  objLookup(store: number, key: string): number {
    this.u32(21, store);
    this.str(key);
    return this.op(objectFound);
  }

  objLookupAsync(store: number, key: string, reg: number): number {
    this.u32(22, store);
    this.str(key);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  objLookupWait(reg: number): number {
    this.u32(23, reg);
    return this.op(objectFound);
  }

  objInsert(store: number, key: string, value: string | Uint8Array): number {
    this.u32(24, store);
    this.str(key);
    this.str(value);
    return this.op(KvScript.status);
  }

  objInsertAsync(store: number, key: string, value: string | Uint8Array, reg: number): number {
    this.u32(25, store);
    this.str(key);
    this.str(value);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  objInsertWait(reg: number): number {
    this.u32(26, reg);
    return this.op(KvScript.status);
  }

  objDeleteAsync(store: number, key: string, reg: number): number {
    this.u32(27, store);
    this.str(key);
    this.u32(reg);
    return this.op(KvScript.status);
  }

  objDeleteWait(reg: number): number {
    this.u32(28, reg);
    return this.op(KvScript.status);
  }

  /** The script's bytes: the request body. */
  bytes(): Uint8Array {
    const out = new Uint8Array((this.words.length + 1) * 4);
    const view = new DataView(out.buffer);
    this.words.forEach((word, i) => view.setUint32(i * 4, word, true));
    return out;
  }

  /** Runs the script and reads back one outcome per call. */
  async run(server: { url: string }): Promise<Outcome[]> {
    const response = await fetch(server.url + "/", { method: "POST", body: Buffer.from(this.bytes()) });
    if (response.status !== 200) throw new Error(`the script guest answered ${response.status}: ${await response.text()}`);
    const results = await Results.of(response);
    const outcomes = this.readers.map((read) => read(results));
    if (results.remaining !== 0) throw new Error(`${results.remaining} result bytes left unread`);
    return outcomes;
  }
}

function found(r: Results, out: Outcome): Outcome {
  if (out.status === 0 && out.kvError === KvError.OK) {
    out.metadata = text(r.bytes());
    out.bytes = r.bytes();
    out.text = text(out.bytes);
  }
  return out;
}

function objectFound(r: Results): Outcome {
  const out: Outcome = { status: r.u32(), value: r.u32() };
  if (out.value === 1) {
    out.bytes = r.bytes();
    out.text = text(out.bytes);
  }
  return out;
}
