// KV stores: `[local_server.kv_stores]` in fastly.toml, durable across restarts.
import * as kv from "./abi/kv_store";
import { Body } from "./body";
import { decode, INVALID_HANDLE, OUT, utf8 } from "./io";
import { JsonReader } from "./json";
import { check, FastlyError, KVError, Status } from "./status";

/** `kv_insert_config_options` bits. */
const INSERT_METADATA: u32 = 1 << 3;
const INSERT_TTL: u32 = 1 << 4;
const INSERT_IF_GENERATION_MATCH: u32 = 1 << 5;
/** `kv_list_config_options` bits. */
const LIST_CURSOR: u32 = 1 << 1;
const LIST_LIMIT: u32 = 1 << 2;
const LIST_PREFIX: u32 = 1 << 3;

/** Records passed to the host: `kv_insert_config` (32 bytes), `kv_list_config` (24), `kv_lookup_config` (4). */
const CONFIG: usize = memory.data(32, 8);
/** Metadata is at most 2000 bytes on the platform; a larger one is read into a buffer of its size. */
const METADATA_SIZE: u32 = 2048;
const METADATA: usize = memory.data(METADATA_SIZE, 8);

/** `kv_insert_mode`. */
export enum InsertMode {
  /** Replace the value (the default). */
  OVERWRITE = 0,
  /** Write only if the key does not exist (else `PRECONDITION_FAILED`). */
  ADD = 1,
  APPEND = 2,
  PREPEND = 3,
}

/** How `KVStore.insert` writes. */
export class InsertOptions {
  mode: InsertMode = InsertMode.OVERWRITE;
  metadata: ArrayBuffer | null = null;
  /** Seconds until the entry expires; 0 keeps it. */
  ttlSeconds: u32 = 0;
  /** When `matchGeneration`: write only if the entry is still at this generation (compare-and-swap). */
  generation: u64 = 0;
  matchGeneration: bool = false;

  withMode(mode: InsertMode): InsertOptions {
    this.mode = mode;
    return this;
  }

  /** Metadata stored beside the value (text, as UTF-8), replacing the old. */
  withMetadata(metadata: string): InsertOptions {
    this.metadata = utf8(metadata);
    return this;
  }

  withMetadataBytes(metadata: Uint8Array): InsertOptions {
    this.metadata = metadata.slice().buffer;
    return this;
  }

  withTtl(seconds: u32): InsertOptions {
    this.ttlSeconds = seconds;
    return this;
  }

  /**
   * Writes only if the entry's generation (from `lookup`) is still
   * `generation`; otherwise the write fails with `KVError.PRECONDITION_FAILED`
   * and changes nothing. (A key that does not exist is written: use
   * `InsertMode.ADD` to create a key only once.)
   */
  ifGenerationMatch(generation: u64): InsertOptions {
    this.generation = generation;
    this.matchGeneration = true;
    return this;
  }
}

/** Which keys `KVStore.list` returns. */
export class ListOptions {
  prefix: string | null = null;
  /** Keys per page; 0 leaves the host's default (1000). */
  limit: u32 = 0;
  /** `nextCursor` of the previous page. */
  cursor: string | null = null;

  withPrefix(prefix: string): ListOptions {
    this.prefix = prefix;
    return this;
  }

  withLimit(limit: u32): ListOptions {
    this.limit = limit;
    return this;
  }

  withCursor(cursor: string): ListOptions {
    this.cursor = cursor;
    return this;
  }
}

/** One page of keys; `nextCursor` is null on the last page. */
export class KVPage {
  readonly keys: string[];
  readonly nextCursor: string | null;

  constructor(keys: string[], nextCursor: string | null) {
    this.keys = keys;
    this.nextCursor = nextCursor;
  }
}

/** A value found by `lookup`: its body, metadata and generation. */
export class KVEntry {
  /** The value, streamed from the host as it is read. */
  readonly body: Body;
  /** Counts the writes to the key: pass it to `InsertOptions.ifGenerationMatch`. */
  readonly generation: u64;
  private readonly meta: ArrayBuffer | null;

  constructor(body: Body, generation: u64, metadata: ArrayBuffer | null) {
    this.body = body;
    this.generation = generation;
    this.meta = metadata;
  }

  text(): string {
    return this.body.text();
  }

  bytes(): Uint8Array {
    return this.body.bytes();
  }

  /** The metadata, or null when the entry has none. */
  metadata(): Uint8Array | null {
    const meta = this.meta;
    return meta === null ? null : Uint8Array.wrap(meta);
  }

  metadataText(): string | null {
    const meta = this.meta;
    return meta === null ? null : decode(changetype<usize>(meta), meta.byteLength);
  }
}

/** A KV store. Values are bytes (up to 25 MiB) with optional metadata; keys are UTF-8 text. */
export class KVStore {
  readonly name: string;
  readonly handle: u32;

  private constructor(name: string, handle: u32) {
    this.name = name;
    this.handle = handle;
  }

  /** Opens a store fastly.toml declares; stops the request when there is none by that name. */
  static open(name: string): KVStore {
    const bytes = utf8(name);
    const status = kv.open(changetype<usize>(bytes), bytes.byteLength, OUT);
    if (status == Status.INVAL) new FastlyError(status, "no KV store named " + name).raise();
    check(status, "open KV store " + name);
    return new KVStore(name, load<u32>(OUT));
  }

  /** The entry for `key`, or null when there is none. */
  lookup(key: string): KVEntry | null {
    const bytes = utf8(key);
    store<u32>(CONFIG, 0);
    check(kv.lookup(this.handle, changetype<usize>(bytes), bytes.byteLength, 0, CONFIG, OUT), this.what("lookup", key));
    const pending = load<u32>(OUT);
    let metaBuf = METADATA;
    let metaSize = METADATA_SIZE;
    let grown: ArrayBuffer | null = null;
    let status = Status.BUFLEN;
    while (status == Status.BUFLEN) {
      store<u32>(OUT, INVALID_HANDLE);
      store<u32>(OUT, 0, 4);
      store<u64>(OUT, 0, 8);
      store<u32>(OUT, 0, 16);
      status = kv.lookup_wait_v2(pending, OUT, metaBuf, metaSize, OUT + 4, OUT + 8, OUT + 16);
      if (status == Status.BUFLEN) {
        // The metadata did not fit: the lookup stays pending, ask again with room for it.
        metaSize = load<u32>(OUT, 4);
        grown = new ArrayBuffer(<i32>metaSize);
        metaBuf = changetype<usize>(grown);
      }
    }
    check(status, this.what("lookup", key));
    const code = load<u32>(OUT, 16);
    if (code == KVError.NOT_FOUND) return null;
    if (code != KVError.OK) FastlyError.kv(code, this.what("lookup", key)).raise();
    const metaLength = load<u32>(OUT, 4);
    let metadata: ArrayBuffer | null = null;
    if (metaLength > 0) {
      const copy = new ArrayBuffer(<i32>metaLength);
      memory.copy(changetype<usize>(copy), metaBuf, metaLength);
      metadata = copy;
    }
    return new KVEntry(new Body(load<u32>(OUT)), load<u64>(OUT, 8), metadata);
  }

  /** Writes `value` (a string, Uint8Array, ArrayBuffer or `Body`) under `key`; stops the request on failure. */
  insert<T>(key: string, value: T, options: InsertOptions | null = null): void {
    const error = this.tryInsert<T>(key, value, options);
    if (error !== null) error.raise();
  }

  /**
   * `insert`, returning the failure instead (null on success): with
   * `ifGenerationMatch` or `InsertMode.ADD`, `error.kvError` is
   * `KVError.PRECONDITION_FAILED` when another write got there first.
   */
  tryInsert<T>(key: string, value: T, options: InsertOptions | null = null): FastlyError | null {
    const body = value instanceof Body ? changetype<Body>(value) : Body.from<T>(value);
    const keyBytes = utf8(key);
    let mask: u32 = 0;
    memory.fill(CONFIG, 0, 32);
    let metadata: ArrayBuffer | null = null;
    if (options !== null) {
      store<u32>(CONFIG, <u32>options.mode);
      metadata = options.metadata;
      if (metadata !== null) {
        mask |= INSERT_METADATA;
        store<u32>(CONFIG, <u32>changetype<usize>(metadata), 8);
        store<u32>(CONFIG, <u32>metadata.byteLength, 12);
      }
      if (options.ttlSeconds > 0) {
        mask |= INSERT_TTL;
        store<u32>(CONFIG, options.ttlSeconds, 16);
      }
      if (options.matchGeneration) {
        mask |= INSERT_IF_GENERATION_MATCH;
        store<u64>(CONFIG, options.generation, 24);
      }
    }
    const status = kv.insert(this.handle, changetype<usize>(keyBytes), keyBytes.byteLength, body.handle, mask, CONFIG, OUT);
    if (status != Status.OK) return FastlyError.of(status, this.what("insert", key));
    body.handle = INVALID_HANDLE;
    const waited = kv.insert_wait(load<u32>(OUT), OUT);
    if (waited != Status.OK) return FastlyError.of(waited, this.what("insert", key));
    const code = load<u32>(OUT);
    return code == KVError.OK ? null : FastlyError.kv(code, this.what("insert", key));
  }

  /** Deletes `key`; false when there was no such key. */
  delete(key: string): bool {
    const bytes = utf8(key);
    store<u32>(CONFIG, 0);
    check(kv.delete_(this.handle, changetype<usize>(bytes), bytes.byteLength, 0, CONFIG, OUT), this.what("delete", key));
    check(kv.delete_wait(load<u32>(OUT), OUT), this.what("delete", key));
    const code = load<u32>(OUT);
    if (code == KVError.NOT_FOUND) return false;
    if (code != KVError.OK) FastlyError.kv(code, this.what("delete", key)).raise();
    return true;
  }

  /** One page of keys, in byte order. */
  list(options: ListOptions | null = null): KVPage {
    let mask: u32 = 0;
    memory.fill(CONFIG, 0, 24);
    let prefix: ArrayBuffer | null = null;
    let cursor: ArrayBuffer | null = null;
    if (options !== null) {
      const p = options.prefix;
      if (p !== null && p.length > 0) {
        prefix = utf8(p);
        mask |= LIST_PREFIX;
        store<u32>(CONFIG, <u32>changetype<usize>(prefix), 16);
        store<u32>(CONFIG, <u32>prefix.byteLength, 20);
      }
      const c = options.cursor;
      if (c !== null && c.length > 0) {
        cursor = utf8(c);
        mask |= LIST_CURSOR;
        store<u32>(CONFIG, <u32>changetype<usize>(cursor), 4);
        store<u32>(CONFIG, <u32>cursor.byteLength, 8);
      }
      if (options.limit > 0) {
        mask |= LIST_LIMIT;
        store<u32>(CONFIG, options.limit, 12);
      }
    }
    check(kv.list(this.handle, mask, CONFIG, OUT), this.what("list", ""));
    check(kv.list_wait(load<u32>(OUT), OUT, OUT + 4), this.what("list", ""));
    const code = load<u32>(OUT, 4);
    if (code != KVError.OK) FastlyError.kv(code, this.what("list", "")).raise();
    return parsePage(new Body(load<u32>(OUT)).text());
  }

  private what(operation: string, key: string): string {
    return "KV " + operation + " " + this.name + (key.length > 0 ? "/" + key : "");
  }
}

/** `{"data": ["key", ...], "meta": {"next_cursor": "...", ...}}`. */
function parsePage(text: string): KVPage {
  const json = new JsonReader(text);
  const keys = new Array<string>();
  let next: string | null = null;
  json.expect(0x7b);
  for (let first = true; json.more(0x7d, first); first = false) {
    const name = json.readString();
    json.expect(0x3a);
    if (name == "data" && json.eat(0x5b)) {
      for (let firstKey = true; json.more(0x5d, firstKey); firstKey = false) keys.push(json.readString());
    } else if (name == "meta" && json.eat(0x7b)) {
      for (let firstMeta = true; json.more(0x7d, firstMeta); firstMeta = false) {
        const field = json.readString();
        json.expect(0x3a);
        if (field == "next_cursor" && json.isString()) next = json.readString();
        else json.skipValue();
      }
    } else {
      json.skipValue();
    }
  }
  if (json.failed) new FastlyError(Status.ERROR, "KV list: unexpected answer " + text).raise();
  return new KVPage(keys, next);
}
