// The KV stores' data: one SQLite database (Node's built-in `node:sqlite`) in
// the state directory, or in memory when there is none.
//
// Durability: the database runs in WAL mode with `synchronous = FULL`, so a
// write is on disk (fsynced) before it is acknowledged, and a write cut short
// by a crash or `kill -9` is rolled back whole: no torn values. Space is
// reused by SQLite itself and the WAL is checkpointed as it grows.
//
// Concurrency: writes are queued and applied in arrival order, a batch per
// turn of the event loop in one transaction (group commit: one fsync for
// many writes). Each write reads the current entry and writes the new one
// inside that transaction, so `if_generation_match` is a true compare-and-
// swap. SQLite's own locking keeps this right across processes too (`outpost
// kv --state-dir` while `outpost serve` runs on the same directory).
//
// Generations count the writes to a key since it was created: 1 on creation,
// +1 on each write (any mode). Seeds from fastly.toml are applied at start to
// keys the state does not have; a seeded value follows fastly.toml until the
// app (or `outpost kv`) writes or deletes the key, after which the state wins.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { KvStoreConfig } from "../config/kv-stores.ts";
import { decodeCursor, DEFAULT_LIST_LIMIT, encodeCursor, InsertMode, type KvOutcome, MAX_VALUE_BYTES } from "./kv-limits.ts";
import { connect, KvStateError, prepare } from "./kv-schema.ts";

export { KvStateError };

/** `outpost serve`'s state directory, relative to the project: `outpost kv` looks there too. */
export const DEFAULT_STATE_DIR = ".outpost/state";
/** The database file in the state directory. */
export const KV_STATE_FILE = "kv.sqlite";
/** How often expired entries are removed (lookups ignore them meanwhile). */
const PURGE_INTERVAL_MS = 60_000;

export interface KvEntry {
  value: Uint8Array;
  metadata: Uint8Array | null;
  generation: number;
  /** When the entry expires (ms since the epoch), or null. */
  expiresAt: number | null;
}

export interface KvWrite {
  mode: InsertMode;
  metadata: Uint8Array | null;
  ttlSec: number | null;
  ifGenerationMatch: bigint | null;
}

export interface KvListQuery {
  prefix?: string | null;
  /** The cursor a previous page returned. */
  cursor?: string | null;
  limit?: number | null;
}

export interface KvListPage {
  keys: string[];
  /** Where the next page starts, or null on the last page. */
  nextCursor: string | null;
  limit: number;
  prefix: string | null;
}

export interface KvDatabaseOptions {
  /** The state directory, or null to keep the stores in memory only. */
  dir: string | null;
  /** Clock for TTLs, ms since the epoch. */
  now?: () => number;
  warn?: (message: string) => void;
}


interface Row {
  value: Uint8Array | null;
  metadata: Uint8Array | null;
  generation: number;
  expires_at: number | null;
  seeded: number;
}

interface Queued {
  run: () => KvOutcome;
  resolve: (outcome: KvOutcome) => void;
}


export class KvDatabase {
  /** Where the database lives, or null in memory. */
  readonly path: string | null;
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private readonly statements: ReturnType<typeof prepare>;
  private queue: Queued[] = [];
  private drained: Promise<void> | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(db: DatabaseSync, path: string | null, options: KvDatabaseOptions) {
    this.db = db;
    this.path = path;
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => {});
    this.statements = prepare(db);
  }

  /** Opens (creating if need be) the stores of a state directory, or in-memory stores. */
  static open(options: KvDatabaseOptions): KvDatabase {
    let path: string | null = null;
    if (options.dir !== null) {
      try {
        mkdirSync(options.dir, { recursive: true });
      } catch (error) {
        throw new KvStateError(`cannot create the state directory ${options.dir}: ${(error as Error).message}`);
      }
      path = join(options.dir, KV_STATE_FILE);
    }
    const kv = new KvDatabase(connect(path ?? ":memory:", false)!, path, options);
    kv.purgeTimer = setInterval(() => void kv.purgeExpired(), PURGE_INTERVAL_MS).unref();
    return kv;
  }

  /** The stores of an existing state directory, or null when it has none. */
  static openExisting(dir: string, options: Omit<KvDatabaseOptions, "dir"> = {}): KvDatabase | null {
    const path = join(dir, KV_STATE_FILE);
    if (!existsSync(path)) return null;
    const db = connect(path, true);
    return db && new KvDatabase(db, path, { ...options, dir });
  }

  /**
   * Makes `stores` the stores that exist, and applies their seeds: a seed
   * goes in when the state has no entry for its key, and replaces an entry
   * that still holds an earlier seed; entries the app wrote or deleted stay.
   */
  declareStores(stores: KvStoreConfig[]): { seeded: number; kept: number } {
    const s = this.statements;
    let seeded = 0;
    let kept = 0;
    this.transaction(() => {
      s.clearStores.run();
      for (const store of stores) {
        s.addStore.run(store.name);
        const wanted = new Map(store.seeds.map((seed) => [seed.key, seed]));
        // Seeds dropped from the manifest leave with it, unless the app made the key its own.
        for (const { key } of s.seedKeys.all(store.name) as { key: string }[]) {
          if (wanted.has(key)) continue;
          const row = s.get.get(store.name, key) as Row | undefined;
          if (row && (row.seeded === 1 || row.value === null)) s.remove.run(store.name, key);
        }
        s.clearSeeds.run(store.name);
        for (const seed of store.seeds) {
          s.addSeed.run(store.name, seed.key);
          const row = s.get.get(store.name, seed.key) as Row | undefined;
          if (row && row.seeded !== 1) {
            kept++;
            continue;
          }
          if (row && sameBytes(row.value, seed.value) && sameBytes(row.metadata, seed.metadata)) continue;
          s.put.run(store.name, seed.key, seed.value, seed.metadata, row ? row.generation + 1 : 1, null, 1);
          seeded++;
        }
      }
    });
    return { seeded, kept };
  }

  /** Names of the stores that exist, sorted. */
  storeNames(): string[] {
    return (this.statements.stores.all() as { name: string }[]).map((row) => row.name);
  }

  hasStore(name: string): boolean {
    return this.statements.hasStore.get(name) !== undefined;
  }

  /** The live entry for a key, or null (missing, deleted or expired). */
  lookup(store: string, key: string): KvEntry | null {
    const row = this.statements.get.get(store, key) as Row | undefined;
    if (!row || row.value === null || this.expired(row)) return null;
    return { value: row.value, metadata: row.metadata, generation: row.generation, expiresAt: row.expires_at };
  }

  /** Writes a key; resolves once the write is durable (or refused). */
  insert(store: string, key: string, value: Uint8Array, write: KvWrite): Promise<KvOutcome> {
    return this.enqueue(() => this.applyInsert(store, key, value, write));
  }

  /** Deletes a key; resolves once the deletion is durable. */
  delete(store: string, key: string): Promise<KvOutcome> {
    return this.enqueue(() => this.applyDelete(store, key));
  }

  /** One page of a store's live keys in byte order, or "bad_request" for a cursor or limit that is not valid. */
  list(store: string, query: KvListQuery = {}): KvListPage | "bad_request" {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) return "bad_request";
    let after = "";
    if (query.cursor !== undefined && query.cursor !== null) {
      const decoded = decodeCursor(query.cursor);
      if (decoded === null) return "bad_request";
      after = decoded;
    }
    const prefix = query.prefix || null;
    const upper = prefix === null ? null : successor(prefix);
    const rows = (
      upper === null
        ? this.statements.listOpen.all(store, after, prefix ?? "", this.now(), limit + 1)
        : this.statements.listBounded.all(store, after, prefix ?? "", this.now(), upper, limit + 1)
    ) as { key: string }[];
    const keys = rows.slice(0, limit).map((row) => row.key);
    const more = rows.length > limit;
    return { keys, nextCursor: more ? encodeCursor(keys[keys.length - 1]) : null, limit, prefix };
  }

  /** Removes expired entries (lookups already ignore them). */
  purgeExpired(): Promise<KvOutcome> {
    return this.enqueue(() => {
      const now = this.now();
      this.statements.expireSeeded.run(now);
      this.statements.expire.run(now);
      return "ok";
    });
  }

  /** Finishes the writes in progress and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    while (this.queue.length > 0 || this.drained) await (this.drained ?? this.flushSoon());
    this.closed = true;
    try {
      if (this.path) this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (error) {
      this.warn(`kv: checkpoint at close failed: ${(error as Error).message}`);
    }
    this.db.close();
  }

  private expired(row: Row): boolean {
    return row.expires_at !== null && row.expires_at <= this.now();
  }

  private applyInsert(store: string, key: string, value: Uint8Array, write: KvWrite): KvOutcome {
    const s = this.statements;
    const row = s.get.get(store, key) as Row | undefined;
    const live = row && row.value !== null && !this.expired(row) ? row : null;
    // As the reference emulator and the SDKs' tests: a generation to match only
    // constrains a key that exists.
    if (write.ifGenerationMatch !== null && live && BigInt(live.generation) !== write.ifGenerationMatch) return "precondition_failed";
    let next = value;
    switch (write.mode) {
      case InsertMode.OVERWRITE:
        break;
      case InsertMode.ADD:
        if (live) return "precondition_failed";
        break;
      case InsertMode.APPEND:
        if (live) next = Buffer.concat([live.value!, value]);
        break;
      case InsertMode.PREPEND:
        if (live) next = Buffer.concat([value, live.value!]);
        break;
      default: {
        const never: never = write.mode;
        throw new Error(`unknown insert mode ${String(never)}`);
      }
    }
    if (next.byteLength > MAX_VALUE_BYTES) return "payload_too_large";
    const expiresAt = write.ttlSec === null ? null : this.now() + write.ttlSec * 1000;
    const metadata = write.metadata && write.metadata.byteLength > 0 ? write.metadata : null;
    s.put.run(store, key, next, metadata, live ? live.generation + 1 : 1, expiresAt, 0);
    return "ok";
  }

  private applyDelete(store: string, key: string): KvOutcome {
    const s = this.statements;
    const row = s.get.get(store, key) as Row | undefined;
    if (!row || row.value === null || this.expired(row)) return "not_found";
    // A seeded key the app deletes stays deleted across restarts: keep a tombstone.
    if (s.isSeed.get(store, key) !== undefined) s.tombstone.run(store, key);
    else s.remove.run(store, key);
    return "ok";
  }

  private enqueue(run: () => KvOutcome): Promise<KvOutcome> {
    if (this.closed) return Promise.resolve("internal_error");
    return new Promise((resolve) => {
      this.queue.push({ run, resolve });
      void this.flushSoon();
    });
  }

  /** Flushes the queue on the next turn of the event loop, so that writes arriving together share a commit. */
  private flushSoon(): Promise<void> {
    this.drained ??= new Promise((resolve) => {
      setImmediate(() => {
        this.drained = null;
        this.flush();
        resolve();
      });
    });
    return this.drained;
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: KvOutcome[] = [];
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      this.warn(`kv: cannot start a write: ${(error as Error).message}`);
      for (const op of batch) op.resolve("internal_error");
      return;
    }
    for (const op of batch) {
      // A savepoint per write: one that fails leaves the others in the batch alone.
      this.db.exec("SAVEPOINT kv_write");
      try {
        outcomes.push(op.run());
        this.db.exec("RELEASE kv_write");
      } catch (error) {
        this.warn(`kv: write failed: ${(error as Error).message}`);
        this.db.exec("ROLLBACK TO kv_write");
        this.db.exec("RELEASE kv_write");
        outcomes.push("internal_error");
      }
    }
    try {
      this.db.exec("COMMIT");
    } catch (error) {
      // Nothing of the batch is kept: every write in it is refused.
      this.warn(`kv: commit failed: ${(error as Error).message}`);
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // already rolled back
      }
      for (const op of batch) op.resolve("internal_error");
      return;
    }
    batch.forEach((op, index) => op.resolve(outcomes[index]));
  }

  private transaction(body: () => void): void {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }
}

/**
 * The least string above every string that starts with `prefix`, in code
 * point order (which is SQLite's byte order for UTF-8): null when there is none.
 */
function successor(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    let next = points.pop()!.codePointAt(0)! + 1;
    if (next === 0xd800) next = 0xe000; // skip the surrogates, which UTF-8 cannot hold
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return null;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b || (a?.byteLength === 0 && b === null) || (b?.byteLength === 0 && a === null);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
