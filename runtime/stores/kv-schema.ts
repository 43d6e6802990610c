// The KV database's schema and statements (runtime/stores/kv-database.ts):
// opening a state file with the pragmas that make commits durable, and the
// SQL each operation runs.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ConfigError } from "../config/config-error.ts";

const SCHEMA_VERSION = 1;

/** The state directory cannot be used (reported to the user as a configuration mistake). */
export class KvStateError extends ConfigError {}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv_stores (name TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS kv_items (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB,                       -- NULL: a seeded key the app deleted
    metadata BLOB,
    generation INTEGER NOT NULL,
    expires_at INTEGER,               -- ms since the epoch
    seeded INTEGER NOT NULL DEFAULT 0, -- 1 while the value is fastly.toml's
    PRIMARY KEY (store, key)
  );
  CREATE INDEX IF NOT EXISTS kv_items_expiry ON kv_items (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS kv_seeds (store TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (store, key)) WITHOUT ROWID;
`;

/** Opens and sets up the database; null when `existingOnly` and it holds no KV state. */
export function connect(path: string, existingOnly: boolean): DatabaseSync | null {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { open: true, readOnly: false });
  } catch (error) {
    throw new KvStateError(`cannot open the KV state ${path}: ${(error as Error).message}`);
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (existingOnly && version === 0) {
      db.close();
      return null;
    }
    if (version > SCHEMA_VERSION) {
      throw new KvStateError(`${path} was written by a newer Outpost (KV state version ${version}); upgrade Outpost or use another --state-dir`);
    }
    if (path !== ":memory:") {
      db.exec("PRAGMA journal_mode = WAL");
      // Every commit is fsynced before the write is acknowledged.
      db.exec("PRAGMA synchronous = FULL");
    }
    if (version === 0) {
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
  } catch (error) {
    db.close();
    if (error instanceof KvStateError) throw error;
    throw new KvStateError(`cannot use the KV state ${path}: ${(error as Error).message}`);
  }
  return db;
}

export function prepare(db: DatabaseSync) {
  const statement = (sql: string): StatementSync => db.prepare(sql);
  const live = "value IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)";
  return {
    stores: statement("SELECT name FROM kv_stores ORDER BY name"),
    hasStore: statement("SELECT 1 FROM kv_stores WHERE name = ?"),
    clearStores: statement("DELETE FROM kv_stores"),
    addStore: statement("INSERT INTO kv_stores (name) VALUES (?)"),
    seedKeys: statement("SELECT key FROM kv_seeds WHERE store = ?"),
    isSeed: statement("SELECT 1 FROM kv_seeds WHERE store = ? AND key = ?"),
    clearSeeds: statement("DELETE FROM kv_seeds WHERE store = ?"),
    addSeed: statement("INSERT INTO kv_seeds (store, key) VALUES (?, ?)"),
    get: statement("SELECT value, metadata, generation, expires_at, seeded FROM kv_items WHERE store = ? AND key = ?"),
    put: statement(
      `INSERT INTO kv_items (store, key, value, metadata, generation, expires_at, seeded) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
         generation = excluded.generation, expires_at = excluded.expires_at, seeded = excluded.seeded`,
    ),
    remove: statement("DELETE FROM kv_items WHERE store = ? AND key = ?"),
    tombstone: statement("UPDATE kv_items SET value = NULL, metadata = NULL, expires_at = NULL, seeded = 0 WHERE store = ? AND key = ?"),
    listOpen: statement(`SELECT key FROM kv_items WHERE store = ? AND key > ? AND key >= ? AND ${live} ORDER BY key LIMIT ?`),
    listBounded: statement(`SELECT key FROM kv_items WHERE store = ? AND key > ? AND key >= ? AND ${live} AND key < ? ORDER BY key LIMIT ?`),
    expireSeeded: statement(
      `UPDATE kv_items SET value = NULL, metadata = NULL, expires_at = NULL, seeded = 0 WHERE expires_at <= ?
       AND EXISTS (SELECT 1 FROM kv_seeds s WHERE s.store = kv_items.store AND s.key = kv_items.key)`,
    ),
    expire: statement("DELETE FROM kv_items WHERE expires_at <= ?"),
  };
}
