// Scripts for the scriptable Core Cache API guest
// (test/fixtures/wat/core-cache-script.wat): build a list of host calls, send
// it as the request body, and read back what each call returned.
//
//   const s = new CacheScript();
//   const look = s.txLookup(1, "key");
//   const state = s.get("state", 1);
//   const out = await s.run(server);
//   out[look].status; out[state].value;
import { Results } from "./results.ts";
import type { TestServer } from "./outpost.ts";

export const LookupMask = { REQUEST_HEADERS: 1 << 1, SERVICE_ID: 1 << 2, ALWAYS_USE_REQUESTED_RANGE: 1 << 3 };
export const WriteMask = {
  RESERVED: 1 << 0,
  REQUEST_HEADERS: 1 << 1,
  VARY_RULE: 1 << 2,
  INITIAL_AGE_NS: 1 << 3,
  STALE_WHILE_REVALIDATE_NS: 1 << 4,
  SURROGATE_KEYS: 1 << 5,
  LENGTH: 1 << 6,
  USER_METADATA: 1 << 7,
  SENSITIVE_DATA: 1 << 8,
  EDGE_MAX_AGE_NS: 1 << 9,
  SERVICE_ID: 1 << 10,
};
export const State = { FOUND: 1, USABLE: 2, STALE: 4, MUST_INSERT_OR_UPDATE: 8, USABLE_IF_ERROR: 16 };
export const SECOND = 1_000_000_000n;

/** What a call returned: its status and whatever it read. */
export interface Outcome {
  status: number;
  /** u64 getters; `ready` for is_ready; the index for select; nwritten for user metadata. */
  value?: bigint;
  bytes?: Uint8Array;
  text?: string;
}

export interface WriteOptions {
  maxAgeNs?: bigint;
  /** Register holding a request handle whose headers go with the write. */
  request?: number;
  vary?: string;
  initialAgeNs?: bigint;
  swrNs?: bigint;
  surrogateKeys?: string;
  length?: number;
  userMetadata?: string | Uint8Array;
  sensitive?: boolean;
  edgeMaxAgeNs?: bigint;
  /** Bits to add to the mask computed from the fields given. */
  extraMask?: number;
}

export interface LookupOptions {
  /** Register holding a request handle whose headers select the variant. */
  request?: number;
  alwaysUseRequestedRange?: boolean;
  extraMask?: number;
}

const GETTERS = { state: 0, length: 1, maxAge: 2, swr: 3, age: 4, hits: 5 } as const;
export type Getter = keyof typeof GETTERS;

type Reader = (r: Results) => Outcome;

const encoder = new TextEncoder();
const bytesOf = (value: string | Uint8Array) => (typeof value === "string" ? encoder.encode(value) : value);

export class CacheScript {
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

  private op(reader: Reader = (r) => ({ status: r.u32() })): number {
    this.readers.push(reader);
    return this.readers.length - 1;
  }

  private wopts(o: WriteOptions): void {
    let mask = o.extraMask ?? 0;
    if (o.request !== undefined) mask |= WriteMask.REQUEST_HEADERS;
    if (o.vary !== undefined) mask |= WriteMask.VARY_RULE;
    if (o.initialAgeNs !== undefined) mask |= WriteMask.INITIAL_AGE_NS;
    if (o.swrNs !== undefined) mask |= WriteMask.STALE_WHILE_REVALIDATE_NS;
    if (o.surrogateKeys !== undefined) mask |= WriteMask.SURROGATE_KEYS;
    if (o.length !== undefined) mask |= WriteMask.LENGTH;
    if (o.userMetadata !== undefined) mask |= WriteMask.USER_METADATA;
    if (o.sensitive) mask |= WriteMask.SENSITIVE_DATA;
    if (o.edgeMaxAgeNs !== undefined) mask |= WriteMask.EDGE_MAX_AGE_NS;
    this.u32(mask);
    this.u64(o.maxAgeNs ?? 60n * SECOND);
    this.u32(o.request ?? 0);
    this.str(o.vary ?? "");
    this.u64(o.initialAgeNs ?? 0n);
    this.u64(o.swrNs ?? 0n);
    this.str(o.surrogateKeys ?? "");
    this.u64(BigInt(o.length ?? 0));
    this.str(o.userMetadata ?? "");
    this.u64(o.edgeMaxAgeNs ?? 0n);
  }

  private lookupOp(code: number, dst: number, key: string | Uint8Array, o: LookupOptions): number {
    let mask = o.extraMask ?? 0;
    if (o.request !== undefined) mask |= LookupMask.REQUEST_HEADERS;
    if (o.alwaysUseRequestedRange) mask |= LookupMask.ALWAYS_USE_REQUESTED_RANGE;
    this.u32(code, dst, mask, o.request ?? 0);
    this.str(key);
    return this.op();
  }

  lookup(dst: number, key: string | Uint8Array, o: LookupOptions = {}): number {
    return this.lookupOp(1, dst, key, o);
  }
  txLookup(dst: number, key: string | Uint8Array, o: LookupOptions = {}): number {
    return this.lookupOp(2, dst, key, o);
  }
  txLookupAsync(dst: number, key: string | Uint8Array, o: LookupOptions = {}): number {
    return this.lookupOp(3, dst, key, o);
  }
  busyWait(dst: number, busy: number): number {
    this.u32(4, dst, busy);
    return this.op();
  }
  closeBusy(busy: number): number {
    this.u32(5, busy);
    return this.op();
  }
  /** Non-transactional insert: register `dst` gets the body to write. */
  insert(dst: number, key: string | Uint8Array, o: WriteOptions = {}): number {
    this.u32(6, dst);
    this.str(key);
    this.wopts(o);
    return this.op();
  }
  txInsert(dst: number, handle: number, o: WriteOptions = {}): number {
    this.u32(7, dst, handle);
    this.wopts(o);
    return this.op();
  }
  txInsertAndStreamBack(dstBody: number, dstHandle: number, handle: number, o: WriteOptions = {}): number {
    this.u32(8, dstBody, dstHandle, handle);
    this.wopts(o);
    return this.op();
  }
  txUpdate(handle: number, o: WriteOptions = {}): number {
    this.u32(9, handle);
    this.wopts(o);
    return this.op();
  }
  txCancel(handle: number): number {
    this.u32(10, handle);
    return this.op();
  }
  close(handle: number): number {
    this.u32(11, handle);
    return this.op();
  }
  /** A u64 getter (`get_state` reads into the low bits); `replace` uses the replace_* twin. */
  get(getter: Getter, handle: number, replace = false): number {
    this.u32(12, GETTERS[getter] + (replace ? 6 : 0), handle);
    return this.op((r) => ({ status: r.u32(), value: r.i64() }));
  }
  userMetadata(handle: number, max = 1024, replace = false): number {
    this.u32(13, replace ? 1 : 0, handle, max);
    return this.op((r) => {
      const status = r.u32();
      const value = BigInt(r.u32());
      return status === 0 ? { status, value, bytes: r.bytes() } : { status, value };
    });
  }
  getBody(dst: number, handle: number, range: { from?: number; to?: number; mask?: number } = {}, replace = false): number {
    let mask = range.mask ?? 0;
    if (range.from !== undefined) mask |= 1 << 1;
    if (range.to !== undefined) mask |= 1 << 2;
    this.u32(14, dst, replace ? 1 : 0, handle, mask);
    this.u64(BigInt(range.from ?? 0));
    this.u64(BigInt(range.to ?? 0));
    return this.op();
  }
  write(body: number, data: string | Uint8Array): number {
    this.u32(20, body);
    this.str(data);
    return this.op();
  }
  closeBody(body: number): number {
    this.u32(21, body);
    return this.op();
  }
  abandonBody(body: number): number {
    this.u32(32, body);
    return this.op();
  }
  /** Reads a body to its end: the status of the last read and the bytes. */
  readAll(body: number): number {
    this.u32(22, body);
    return this.op((r) => {
      const status = r.u32();
      const bytes = r.bytes();
      return { status, bytes, text: Buffer.from(bytes).toString("latin1") };
    });
  }
  readSome(body: number, max: number): number {
    this.u32(23, body, max);
    return this.op((r) => {
      const status = r.u32();
      const bytes = r.bytes();
      return { status, bytes, text: Buffer.from(bytes).toString("latin1") };
    });
  }
  newRequest(dst: number): number {
    this.u32(24, dst);
    return this.op();
  }
  header(request: number, name: string, value: string): number {
    this.u32(25, request);
    this.str(name);
    this.str(value);
    return this.op();
  }
  /** A request whose headers are `headers`, in register `dst`. */
  requestWith(dst: number, headers: Record<string, string>): void {
    this.newRequest(dst);
    for (const [name, value] of Object.entries(headers)) this.header(dst, name, value);
  }
  purge(key: string, soft = false): number {
    this.u32(26, soft ? 1 : 0);
    this.str(key);
    return this.op();
  }
  replace(dst: number, key: string | Uint8Array, o: { strategy?: number; request?: number; mask?: number; alwaysUseRequestedRange?: boolean } = {}): number {
    let mask = o.mask ?? 0;
    if (o.request !== undefined) mask |= 1 << 1;
    if (o.strategy !== undefined) mask |= 1 << 2;
    if (o.alwaysUseRequestedRange) mask |= 1 << 4;
    this.u32(27, dst, mask, o.request ?? 0, o.strategy ?? 0);
    this.str(key);
    return this.op();
  }
  replaceInsert(dst: number, handle: number, o: WriteOptions = {}): number {
    this.u32(28, dst, handle);
    this.wopts(o);
    return this.op();
  }
  isReady(handle: number): number {
    this.u32(29, handle);
    return this.op((r) => ({ status: r.u32(), value: BigInt(r.u32()) }));
  }
  select(handles: number[], timeoutMs = 0): number {
    this.u32(30, timeoutMs, handles.length, ...handles);
    return this.op((r) => ({ status: r.u32(), value: BigInt(r.u32()) }));
  }
  /** Waits until the test answers `GET /<name>` on the "gate" backend. */
  gate(name: string): number {
    this.u32(31);
    this.str(`http://gate/${name}`);
    return this.op();
  }
  appendBody(dst: number, src: number): number {
    this.u32(33, dst, src);
    return this.op();
  }
  newBody(dst: number): number {
    this.u32(34, dst);
    return this.op();
  }
  sleep(ms: number): number {
    this.u32(35, ms);
    return this.op();
  }
  set(register: number, value: number): void {
    this.u32(36, register, value);
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array((this.words.length + 1) * 4);
    const view = new DataView(out.buffer);
    this.words.forEach((word, i) => view.setUint32(i * 4, word, true));
    return out;
  }

  parse(body: Uint8Array): Outcome[] {
    const r = new Results(body);
    const out = this.readers.map((read) => read(r));
    if (r.remaining !== 0) throw new Error(`${r.remaining} bytes of results left unread`);
    return out;
  }

  /** Runs the script as one request; rejects when the guest did not answer 200. */
  async run(server: TestServer, path = "/"): Promise<Outcome[]> {
    const response = await server.get(path, { method: "POST", body: Buffer.from(this.bytes()) });
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) throw new Error(`guest answered ${response.status}: ${Buffer.from(body).toString()}`);
    return this.parse(body);
  }
}
