// Keeping the HTTP cache across restarts (`outpost serve --cache-dir`): every
// complete, non-sensitive HTTP object is mirrored to one file in the
// directory, written atomically (a temporary file renamed into place) and
// removed when the object leaves the store (purge, eviction, expiry). At
// start the files are loaded back, oldest first so that the LRU order
// survives; expired files are dropped, corrupt ones reported and dropped.
//
// A file is a magic line, one line of JSON metadata, then the body's bytes.
// Memory stays the source of truth: the directory follows it, and the
// directory belongs to one server at a time. Writes are not fsynced (a cache
// may lose objects in a crash); the body's length and CRC-32 in the metadata
// make a file torn by one detected and dropped, never served.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { join } from "node:path";
import { Headers } from "../session/headers.ts";
import { GrowingBody } from "./growing-body.ts";
import type { Freshness, Lifetimes } from "./policy.ts";
import type { CacheObject, CacheStore } from "./store.ts";

const MAGIC = "outpost-cache 2\n";
const MAGIC_ANY_VERSION = "outpost-cache ";
const SUFFIX = ".object";
const TEMP_SUFFIX = ".tmp";
/** The namespace persisted: HTTP responses (Core Cache API items stay in memory). */
const HTTP_PREFIX = "http:";

/** What the file says about its object, besides the body. */
interface ObjectFile {
  primary: string;
  secondary: string;
  varyRule: string[];
  status: number;
  /** Flat [name, value, ...] list. */
  headers: string[];
  trailers: string[];
  surrogateKeys: string[];
  freshness: Freshness;
  responseTime: number;
  lifetimes: Lifetimes;
  deleteAt: number;
  bodyLength: number;
  /** CRC-32 of the body: a file torn by a crash (not fsynced) is caught. */
  bodyCrc32: number;
}

export interface PersistenceOptions {
  dir: string;
  now?: () => number;
  warn?: (message: string) => void;
}

export interface LoadReport {
  loaded: number;
  expired: number;
  corrupt: number;
}

export class CachePersistence {
  readonly dir: string;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private store: CacheStore | null = null;
  /** Per file: the tail of its chain of writes and removals, so they land in order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Per file: the object a queued write will save (later saves replace it: one write suffices). */
  private readonly pendingSaves = new Map<string, CacheObject>();
  private failures = 0;

  constructor(options: PersistenceOptions) {
    this.dir = options.dir;
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => {});
    mkdirSync(this.dir, { recursive: true });
  }

  /** Whether an object belongs on disk: HTTP responses, never sensitive (PCI) ones. */
  static persistable(object: CacheObject): boolean {
    return object.primary.startsWith(HTTP_PREFIX) && !object.sensitive;
  }

  /**
   * An object is complete and stored (or changed, as by a revalidation or a
   * soft purge): write it, if the store still holds it.
   */
  readonly saved = (object: CacheObject): void => {
    if (!CachePersistence.persistable(object) || !object.body.complete) return;
    if (this.store && !this.store.holds(object)) return;
    const name = fileName(object);
    const queued = this.pendingSaves.has(name);
    this.pendingSaves.set(name, object);
    if (queued) return;
    this.enqueue(name, async () => {
      const latest = this.pendingSaves.get(name);
      this.pendingSaves.delete(name);
      if (latest) await this.write(name, latest);
    });
  };

  /** An object left the store: remove its file. */
  readonly removed = (object: CacheObject): void => {
    if (!CachePersistence.persistable(object)) return;
    const name = fileName(object);
    this.pendingSaves.delete(name);
    this.enqueue(name, () => rm(join(this.dir, name), { force: true }));
  };

  /** Loads the directory's objects into the store, and follows the store from then on. */
  async load(store: CacheStore): Promise<LoadReport> {
    this.store = store;
    const report: LoadReport = { loaded: 0, expired: 0, corrupt: 0 };
    const files: { name: string; mtime: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith(TEMP_SUFFIX)) {
        // Left by a write that never finished.
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      try {
        files.push({ name, mtime: (await stat(path)).mtimeMs });
      } catch {
        // vanished meanwhile
      }
    }
    files.sort((a, b) => a.mtime - b.mtime);
    for (const { name } of files) {
      const path = join(this.dir, name);
      let object: CacheObject;
      try {
        object = decode(await readFile(path));
        if (fileName(object) !== name) throw new Error("its contents belong to another key");
      } catch (error) {
        report.corrupt++;
        this.warn(`cache dir: skipping corrupt file ${path} (${(error as Error).message}); removing it`);
        await rm(path, { force: true });
        continue;
      }
      if (this.now() >= object.deleteAt) {
        report.expired++;
        await rm(path, { force: true });
        continue;
      }
      if (store.insert(object)) report.loaded++;
      else await rm(path, { force: true });
    }
    // A smaller budget than last time evicts the oldest as the newest load (their files go too).
    report.loaded = Math.min(report.loaded, store.stats().objects);
    return report;
  }

  /** Resolves once every queued write and removal has landed. */
  async flush(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private enqueue(name: string, task: () => Promise<void>): void {
    const next = (this.queues.get(name) ?? Promise.resolve()).then(task).catch((error: Error) => {
      this.failures++;
      // A full or vanished disk must not flood the log: the first failures say why.
      if (this.failures <= 3) this.warn(`cache dir: could not update ${join(this.dir, name)}: ${error.message}`);
    });
    this.queues.set(name, next);
    void next.then(() => {
      if (this.queues.get(name) === next) this.queues.delete(name);
    });
  }

  private async write(name: string, object: CacheObject): Promise<void> {
    const contents = encode(object);
    // A body the store let go of holds only what its readers still need: never write part of one.
    if (!contents) return;
    const temp = join(this.dir, `.${name}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
    try {
      await writeFile(temp, contents);
      await rename(temp, join(this.dir, name));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}

/** One file per variant: named by a hash of its primary and secondary keys. */
function fileName(object: CacheObject): string {
  return createHash("sha256").update(`${object.primary}\n${object.secondary}`).digest("hex") + SUFFIX;
}

/** The file's contents, or null when the body is not whole. */
function encode(object: CacheObject): Uint8Array[] | null {
  const chunks = object.body.snapshot();
  const length = chunks.reduce((n, chunk) => n + chunk.byteLength, 0);
  if (!object.body.complete || length !== object.body.length) return null;
  const meta: ObjectFile = {
    primary: object.primary,
    secondary: object.secondary,
    varyRule: object.varyRule,
    status: object.status,
    headers: object.headers.toFlat(),
    trailers: object.body.trailers,
    surrogateKeys: object.surrogateKeys,
    freshness: object.freshness,
    responseTime: object.responseTime,
    lifetimes: object.lifetimes,
    deleteAt: object.deleteAt,
    bodyLength: length,
    bodyCrc32: chunks.reduce((crc, chunk) => crc32(chunk, crc), 0),
  };
  return [Buffer.from(MAGIC + JSON.stringify(meta) + "\n"), ...chunks];
}

/** The object a file holds; throws, saying what is wrong, when it is not a whole object file. */
function decode(file: Buffer): CacheObject {
  if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
    const older = file.subarray(0, MAGIC_ANY_VERSION.length).equals(Buffer.from(MAGIC_ANY_VERSION));
    throw new Error(older ? "written in another format version" : "not an Outpost cache file");
  }
  const end = file.indexOf(0x0a, MAGIC.length);
  if (end < 0) throw new Error("truncated metadata");
  const meta = JSON.parse(file.toString("utf8", MAGIC.length, end)) as ObjectFile;
  const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === "string");
  const numbers = (value: unknown, names: string[]) =>
    typeof value === "object" && value !== null && names.every((n) => typeof (value as Record<string, unknown>)[n] === "number");
  const valid =
    typeof meta.primary === "string" &&
    meta.primary.startsWith(HTTP_PREFIX) &&
    typeof meta.secondary === "string" &&
    strings(meta.varyRule) &&
    Number.isInteger(meta.status) &&
    strings(meta.headers) &&
    strings(meta.trailers) &&
    strings(meta.surrogateKeys) &&
    numbers(meta.freshness, ["initialAge", "lifetime", "staleWhileRevalidate", "staleIfError"]) &&
    numbers(meta.lifetimes, ["staleAt", "staleWhileRevalidateUntil", "staleIfErrorUntil"]) &&
    typeof meta.responseTime === "number" &&
    typeof meta.deleteAt === "number" &&
    Number.isInteger(meta.bodyLength) &&
    Number.isInteger(meta.bodyCrc32);
  if (!valid) throw new Error("malformed metadata");
  const body = file.subarray(end + 1);
  if (body.byteLength !== meta.bodyLength) throw new Error(`body is ${body.byteLength} bytes, expected ${meta.bodyLength}`);
  if (crc32(body) !== meta.bodyCrc32) throw new Error("body does not match its checksum");
  return {
    primary: meta.primary,
    varyRule: meta.varyRule,
    secondary: meta.secondary,
    status: meta.status,
    headers: Headers.fromFlat(meta.headers),
    // A view of the file's buffer, not a copy: the metadata line before it is all that is wasted.
    body: GrowingBody.of(body.byteLength > 0 ? [new Uint8Array(body.buffer, body.byteOffset, body.byteLength)] : [], meta.trailers),
    userMetadata: new Uint8Array(0),
    surrogateKeys: meta.surrogateKeys,
    freshness: meta.freshness,
    responseTime: meta.responseTime,
    lifetimes: meta.lifetimes,
    deleteAt: meta.deleteAt,
    hits: 0,
    declaredLength: meta.bodyLength,
    sensitive: false,
  };
}
