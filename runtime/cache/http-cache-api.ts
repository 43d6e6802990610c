// The HTTP Cache API (`fastly_http_cache`) on the main thread: guests look
// requests up, fetch from their backends themselves and insert or update the
// responses. Transactions collapse concurrent lookups onto one obligation to
// insert or update, as the readthrough cache collapses its own misses. The
// objects are the readthrough cache's: same store, same "http:" keys, so
// each sees what the other stored and purges reach both.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { HttpVersion } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import type { RequestHead, ResponseHead } from "../engine/protocol.ts";
import { Headers } from "../session/headers.ts";
import { slice } from "./client-conditions.ts";
import { GrowingBody } from "./growing-body.ts";
import { type Changed, type Entry, type EntryView, entryView, LookupState, type Obligation, type Outcome, type Owner, readerOf } from "./http-cache-entry.ts";
import {
  forClient,
  knownLength,
  prepareForStorage,
  retainUntil,
  type Suggestion,
  suggestWriteOptions,
  type WriteOptions,
  writtenFreshness,
} from "./http-cache-rules.ts";
import { CacheMetrics } from "./metrics.ts";
import { headersToStore, primaryKey, secondaryKey, usability } from "./policy.ts";
import type { CacheObject, CacheStore } from "./store.ts";

/** A body a guest writes into the cache. */
export interface BodyFeed {
  chunks: AsyncIterable<Uint8Array>;
  trailers(): string[] | null;
}

export interface FoundResponse {
  head: ResponseHead;
  /** The body, or null for none. */
  body: Readable | null;
  /** Body length when known, else -1. */
  length: number;
}

export interface HttpCacheApiOptions {
  store: CacheStore;
  now?: () => number;
  metrics?: CacheMetrics;
  /** Called when a stored object is complete, or updated (persistence writes it). */
  onStored?: (object: CacheObject) => void;
}

const HTTP = "http:";
const { FOUND, USABLE, STALE, MUST_INSERT_OR_UPDATE, USABLE_IF_ERROR } = LookupState;
/** How many times a lookup waits on others' obligations before giving up on the cache. */
const MAX_WAITS = 8;
const NO_METADATA = new Uint8Array(0);

export class HttpCacheApi {
  private readonly store: CacheStore;
  private readonly now: () => number;
  private readonly metrics: CacheMetrics;
  private readonly onStored: (object: CacheObject) => void;
  private readonly entries = new Map<number, Entry>();
  private readonly byOwner = new Map<number, Set<Entry>>();
  /** Obligations others can wait on, by collapse key. */
  private readonly inFlight = new Map<string, Obligation>();
  private nextId = 1;

  constructor(options: HttpCacheApiOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new CacheMetrics();
    this.onStored = options.onStored ?? (() => {});
  }

  /** `get_suggested_cache_key`: a SHA-256 of the key the request's objects are stored under. */
  suggestedKey(head: RequestHead): Uint8Array {
    return digest(HTTP + primaryKey(head.uri, Headers.fromFlat(head.headers)));
  }

  /**
   * `transaction_lookup` (collapse: true) and `lookup` (false). A fresh
   * object is found and usable; a stale one within stale-while-revalidate is
   * usable and, if nobody revalidates it yet, comes with the obligation to;
   * otherwise the first lookup gets the obligation to insert or update and
   * later transaction lookups wait for it to be met. A plain lookup never
   * waits and never makes others wait, but still gets an obligation so that
   * it can insert.
   */
  async lookup(owner: Owner, head: RequestHead, overrideKey: Uint8Array | null, collapse: boolean): Promise<EntryView> {
    const headers = Headers.fromFlat(head.headers);
    const natural = HTTP + primaryKey(head.uri, headers);
    const naturalKey = digest(natural);
    const key = overrideKey ?? naturalKey;
    // An override key names objects of its own, apart from any URL's (unless it is the request's own key).
    const primary = equal(key, naturalKey) ? natural : `${HTTP}#${Buffer.from(key).toString("hex")}`;
    const entry: Entry = {
      id: 0,
      owner: owner.rid,
      key,
      primary,
      request: { method: head.method, headers },
      found: null,
      servable: false,
      state: 0,
      obligation: null,
      pin: null,
    };
    for (let waits = 0; ; waits++) {
      if (!owner.alive()) throw new HostError(Status.ERROR, "the request has ended");
      // A recorded hit-for-pass: neither found nor obliged, the guest goes to its backend directly.
      if (this.store.isHitForPass(primary)) break;
      const object = this.store.lookup(primary, headers);
      const now = this.now();
      const use = object ? usability(object.lifetimes, now) : "stale";
      const ifError = object && now < object.lifetimes.staleIfErrorUntil ? USABLE_IF_ERROR : 0;
      const flight = object ? `${primary}\n${object.secondary}` : primary;
      if (object && use === "fresh") {
        this.serve(entry, object, FOUND | USABLE);
        break;
      }
      if (object && use === "stale-while-revalidate") {
        // RFC 5861 §3: usable while one request revalidates it.
        this.serve(entry, object, FOUND | USABLE | STALE | ifError);
        this.metrics.staleServed++;
        if (!collapse || !this.inFlight.has(flight)) this.oblige(entry, flight, collapse);
        break;
      }
      const pending = collapse ? this.inFlight.get(flight) : undefined;
      if (pending && waits < MAX_WAITS) {
        // Request collapsing: wait for whoever must insert or update, then look again.
        this.metrics.collapsed++;
        const outcome = await pending.done;
        if (outcome.kind === "uncacheable") break;
        if (outcome.kind === "stale") {
          if (owner.alive()) this.serve(entry, outcome.object, FOUND | USABLE | STALE | USABLE_IF_ERROR);
          break;
        }
        continue;
      }
      if (object) this.find(entry, object);
      entry.state = object ? FOUND | STALE | ifError : 0;
      if (!pending) {
        this.metrics.misses++;
        this.oblige(entry, flight, collapse);
      }
      break;
    }
    if (!owner.alive()) {
      entry.obligation?.settle({ kind: "abandoned" });
      entry.pin?.destroy();
      throw new HostError(Status.ERROR, "the request has ended");
    }
    return entryView(this.register(entry), this.now());
  }

  /** `get_found_response`: the usable (or chosen stale) response, as stored or adjusted for the client. */
  foundResponse(owner: Owner, id: number, transform: boolean): FoundResponse {
    const entry = this.entry(owner, id);
    const object = entry.found;
    if (!object || !entry.servable) throw new HostError(Status.NONE, "no response was found");
    const client = forClient(object, entry.request, transform, this.now());
    const head: ResponseHead = { status: client.status, version: HttpVersion.HTTP_11, headers: client.headers.toFlat() };
    const body = entry.pin ?? readerOf(object);
    entry.pin = null;
    if (!body) throw new HostError(Status.ERROR, "the response is no longer in the cache");
    if (client.empty) {
      body.destroy();
      return { head, body: null, length: 0 };
    }
    if (client.range) {
      const [start, end] = client.range;
      return { head, body: Readable.from(slice(body, start, end), { objectMode: false }), length: end - start };
    }
    return { head, body, length: knownLength(object) ?? -1 };
  }

  /** `get_suggested_cache_options`. */
  suggest(owner: Owner, id: number, response: ResponseHead): Suggestion {
    const entry = this.entry(owner, id);
    return suggestWriteOptions(Headers.fromFlat(response.headers), entry.key, this.now());
  }

  /** `prepare_response_for_storage`. */
  prepare(owner: Owner, id: number, response: ResponseHead): { action: number; head: ResponseHead } {
    const entry = this.entry(owner, id);
    const prepared = prepareForStorage(entry.request, entry.found, response.status, Headers.fromFlat(response.headers), this.now());
    return { action: prepared.action, head: { status: prepared.status, version: response.version, headers: prepared.headers.toFlat() } };
  }

  /**
   * `transaction_insert` (and `_and_stream_back`): stores the response at
   * once, its body following the guest's writes, so that those waiting on
   * this transaction stream it as it arrives.
   */
  insert(owner: Owner, id: number, response: ResponseHead, options: WriteOptions, body: () => BodyFeed, streamBack: boolean): Changed {
    const entry = this.obliged(owner, id);
    const now = this.now();
    const rule = options.varyRule ?? [];
    const written = writtenFreshness(options, now);
    const object: CacheObject = {
      primary: entry.primary,
      varyRule: rule,
      secondary: secondaryKey(rule, entry.request.headers),
      status: response.status,
      headers: headersToStore(Headers.fromFlat(response.headers)),
      body: new GrowingBody(),
      userMetadata: NO_METADATA,
      surrogateKeys: options.surrogateKeys,
      freshness: written.freshness,
      responseTime: now,
      lifetimes: written.lifetimes,
      deleteAt: 0,
      hits: 0,
      declaredLength: options.length,
      sensitive: options.sensitive,
    };
    object.deleteAt = retainUntil(object);
    // The response replaces what was found (its variant may differ when the vary rule changed).
    if (entry.found) this.store.remove(entry.found);
    const stored = this.store.insert(object);
    if (!stored) object.body.release();
    this.fill(object, body(), stored);
    // Too large to keep: those waiting go to the backend themselves.
    this.fulfil(entry, { kind: stored ? "stored" : "uncacheable" });
    return { view: entryView(entry, this.now()), fresh: streamBack ? this.readBack(owner, entry, object) : null };
  }

  /** `transaction_update` (and `_and_return_fresh`): new headers and caching settings, the same body. */
  update(owner: Owner, id: number, response: ResponseHead, options: WriteOptions, returnFresh: boolean): Changed {
    const entry = this.obliged(owner, id);
    const object = entry.found;
    if (!object) throw new HostError(Status.BADF, "nothing was found to update");
    const now = this.now();
    const written = writtenFreshness(options, now);
    // In place: the body stays as it is for those reading it and those to come. The variant
    // stays where it is too (a 304 says the stored response still applies, RFC 9111 §4.3.4).
    const apply = (target: CacheObject) => {
      target.headers = headersToStore(Headers.fromFlat(response.headers));
      target.freshness = written.freshness;
      target.lifetimes = written.lifetimes;
      target.responseTime = now;
      target.surrogateKeys = options.surrogateKeys;
      target.sensitive = options.sensitive;
      target.deleteAt = retainUntil(target);
    };
    // Purged or evicted meanwhile: the purge stands, those waiting look again.
    const stored = this.store.refresh(object, apply);
    if (!stored) apply(object);
    else if (object.body.complete) this.onStored(object);
    this.fulfil(entry, { kind: "stored" });
    return { view: entryView(entry, this.now()), fresh: returnFresh ? this.readBack(owner, entry, object) : null };
  }

  /** `transaction_choose_stale`: the stale-if-error response answers this request and those waiting on it. */
  chooseStale(owner: Owner, id: number): Changed {
    const entry = this.obliged(owner, id);
    const object = entry.found;
    if (!object || this.now() >= object.lifetimes.staleIfErrorUntil) {
      throw new HostError(Status.NONE, "no response within its stale-if-error period was found");
    }
    this.fulfil(entry, { kind: "stale", object });
    this.serve(entry, object, FOUND | USABLE | STALE | USABLE_IF_ERROR);
    this.metrics.staleServed++;
    return { view: entryView(entry, this.now()), fresh: null };
  }

  /**
   * `transaction_record_not_cacheable`: a hit-for-pass marker for `max_age`,
   * so that lookups skip collapsing; those waiting go to the backend.
   */
  recordNotCacheable(owner: Owner, id: number, maxAgeNs: bigint): Changed {
    const entry = this.obliged(owner, id);
    const seconds = Number(maxAgeNs) / 1e9;
    if (seconds > 0) this.store.markHitForPass(entry.primary, seconds);
    // The response that replaced the stored one may not be stored: the stored one goes too.
    if (entry.found) this.store.remove(entry.found);
    this.fulfil(entry, { kind: "uncacheable" });
    return { view: entryView(entry, this.now()), fresh: null };
  }

  /** `transaction_abandon`: one of those waiting gets the obligation instead. */
  abandon(owner: Owner, id: number): Changed {
    const entry = this.obliged(owner, id);
    this.fulfil(entry, { kind: "abandoned" });
    return { view: entryView(entry, this.now()), fresh: null };
  }

  /** `close`: an unmet obligation is abandoned. */
  close(owner: Owner, id: number): void {
    this.drop(this.entry(owner, id));
  }

  /** The request ended: every transaction it left open is closed. */
  endOwner(rid: number): void {
    for (const entry of this.byOwner.get(rid) ?? []) this.drop(entry);
    this.byOwner.delete(rid);
  }

  /** Open transactions (for tests and inspection). */
  get size(): number {
    return this.entries.size;
  }

  // ---- transactions ----

  private register(entry: Entry): Entry {
    entry.id = this.nextId++;
    this.entries.set(entry.id, entry);
    let owned = this.byOwner.get(entry.owner);
    if (!owned) this.byOwner.set(entry.owner, (owned = new Set()));
    owned.add(entry);
    return entry;
  }

  private entry(owner: Owner, id: number): Entry {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner.rid) throw new HostError(Status.BADF, `unknown HTTP cache handle`);
    return entry;
  }

  /** A transaction that must still insert or update. */
  private obliged(owner: Owner, id: number): Entry {
    const entry = this.entry(owner, id);
    if (!entry.obligation) throw new HostError(Status.BADF, "this transaction has no obligation to insert or update");
    return entry;
  }

  private drop(entry: Entry): void {
    if (entry.obligation) this.fulfil(entry, { kind: "abandoned" });
    entry.pin?.destroy();
    entry.pin = null;
    this.entries.delete(entry.id);
    this.byOwner.get(entry.owner)?.delete(entry);
  }

  private oblige(entry: Entry, key: string, collapsing: boolean): void {
    let settle!: (outcome: Outcome) => void;
    const done = new Promise<Outcome>((resolve) => (settle = resolve));
    const obligation: Obligation = {
      key,
      done,
      settle: (outcome) => {
        if (this.inFlight.get(key) === obligation) this.inFlight.delete(key);
        settle(outcome);
      },
    };
    if (collapsing) this.inFlight.set(key, obligation);
    entry.obligation = obligation;
    entry.state |= MUST_INSERT_OR_UPDATE;
  }

  private fulfil(entry: Entry, outcome: Outcome): void {
    entry.obligation?.settle(outcome);
    entry.obligation = null;
    entry.state &= ~MUST_INSERT_OR_UPDATE;
  }

  /** The entry finds a response to use: a hit. */
  private serve(entry: Entry, object: CacheObject, state: number): void {
    if (entry.found !== object) this.find(entry, object);
    entry.servable = true;
    entry.state = state;
    object.hits++;
    this.metrics.hits++;
  }

  /** The entry found `object`: its bytes are kept for it from now on. */
  private find(entry: Entry, object: CacheObject): void {
    entry.pin?.destroy();
    entry.found = object;
    entry.pin = readerOf(object);
  }

  /** A new transaction reading what `entry` just wrote. */
  private readBack(owner: Owner, entry: Entry, object: CacheObject): EntryView {
    const stale = usability(object.lifetimes, this.now()) !== "fresh";
    const fresh: Entry = {
      id: 0,
      owner: owner.rid,
      key: entry.key,
      primary: entry.primary,
      request: entry.request,
      found: null,
      servable: true,
      state: FOUND | USABLE | (stale ? STALE : 0),
      obligation: null,
      pin: null,
    };
    this.find(fresh, object);
    return entryView(this.register(fresh), this.now());
  }

  private fill(object: CacheObject, feed: BodyFeed, stored: boolean): void {
    const copy = async () => {
      for await (const chunk of feed.chunks) {
        const more = object.body.append(chunk);
        // Outgrown what the store keeps: readers still get it, the store drops it.
        if (stored && !this.store.grew(object)) object.body.release();
        // Not kept: the guest writes no faster than the slowest reader reads.
        if (!more) await new Promise<void>((resolve) => object.body.whenDrained(resolve));
      }
      if (object.declaredLength !== null && object.body.length !== object.declaredLength) {
        throw new Error(`the body has ${object.body.length} bytes where ${object.declaredLength} were declared`);
      }
      object.body.end(feed.trailers() ?? []);
      if (stored && this.store.holds(object)) this.onStored(object);
    };
    copy().catch((error: Error) => {
      // A body cut short (abandoned, the request gone) is never served as complete.
      object.body.fail(error);
      this.store.remove(object);
    });
  }

}

function digest(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
