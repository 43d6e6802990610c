// The Core Cache API (`fastly_cache`) on the main thread: lookups, request-
// collapsing transactions, inserts, updates and replaces. Objects live in the
// shared CacheStore under "core:" + the hex of their key, next to the HTTP
// cache's objects, so purges by surrogate key (from guests or the admin API)
// reach both. Handles are `entries` owned by the request that opened them;
// `endOwner` lets go of whatever a request left open.
//
// Collapsing: the first transactional lookup that finds nothing usable takes
// the obligation to insert (a `flight`); later ones for the same variant wait
// on it. When the holder inserts, updates, cancels or closes, the waiters run
// their lookup again in arrival order: they find the new object, or the first
// of them takes the obligation over. A stale object within its
// stale-while-revalidate window is served to everyone, and the first to see
// it is asked to revalidate it.
import type { Readable } from "node:stream";
import { HostError, Status } from "../abi/status.ts";
import { type ByteRange, CacheState, type CoreDetails, type CoreLookup, type CoreReplace, type CoreWriteOptions, ReplaceStrategy } from "../session/cache-handles.ts";
import { Headers } from "../session/headers.ts";
import { pin, planRange, readRange } from "./core-body.ts";
import { coreObject, durationsOf, follow, knownLength } from "./core-object.ts";
import { GrowingBody } from "./growing-body.ts";
import { secondaryKey, usability } from "./policy.ts";
import type { CacheObject, CacheStore } from "./store.ts";

/** Namespace of Core Cache API objects in the store. */
export const CORE = "core:";

/** An open handle: a lookup's outcome, or a replace in progress. */
interface Entry {
  id: number;
  owner: number;
  primary: string;
  headers: Headers;
  /** The object found (or inserted, for a stream-back handle), or null. */
  found: CacheObject | null;
  /** The obligation this entry holds, or null. */
  flight: Flight | null;
  replace: boolean;
  alwaysUseRequestedRange: boolean;
  /** Keeps the found object's bytes readable while the handle is open. */
  pin: Readable | null;
}

/** An obligation to insert or update a variant, and the lookups waiting for it. */
interface Flight {
  key: string;
  holder: Entry;
  waiters: Waiter[];
}

/** A transactional lookup (or waiting replace) that cannot complete yet. */
interface Waiter {
  owner: number;
  token: string | null;
  flight: Flight | null;
  /** Looks again: completes, or queues on the flight it must wait for. */
  run(): void;
  reject(error: HostError): void;
}

export interface CoreCacheOptions {
  store: CacheStore;
  now?: () => number;
}

const badf = (message: string) => new HostError(Status.BADF, message);

export class CoreCache {
  private readonly store: CacheStore;
  private readonly now: () => number;
  private readonly entries = new Map<number, Entry>();
  private readonly flights = new Map<string, Flight>();
  /** Waiting lookups by owner, for cancellation and clean-up. */
  private readonly waiters = new Map<number, Set<Waiter>>();
  private nextId = 1;

  constructor(options: CoreCacheOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  // ---- lookups ----

  /** Non-transactional: whatever usable object there is, without collapsing. */
  lookup(owner: number, request: CoreLookup): number {
    const primary = CORE + request.key;
    const headers = Headers.fromFlat(request.headers);
    const object = this.usable(primary, headers);
    if (object) object.hits++;
    return this.open(owner, primary, headers, object, null, request.alwaysUseRequestedRange, false).id;
  }

  /**
   * Transactional: an entry once this lookup need not wait for another
   * client (at once, or a promise when it must wait; `token` names it to
   * `cancelLookup` meanwhile).
   */
  transactionLookup(owner: number, request: CoreLookup, token: string | null): number | Promise<number> {
    const primary = CORE + request.key;
    const headers = Headers.fromFlat(request.headers);
    return this.wait(owner, token, () => {
      const object = this.usable(primary, headers);
      const key = this.flightKey(primary, headers);
      const flight = this.flights.get(key);
      if (!object && flight) return flight;
      if (object) object.hits++;
      // Fresh, or stale with someone already revalidating: use it. Stale
      // within stale-while-revalidate with nobody on it: use it, and revalidate.
      const fresh = object !== null && usability(object.lifetimes, this.now()) === "fresh";
      const obligation = fresh || flight ? null : key;
      return this.open(owner, primary, headers, object, obligation, request.alwaysUseRequestedRange, false).id;
    });
  }

  /** A busy handle closed before its lookup completed: it stops waiting. */
  cancelLookup(owner: number, token: string): void {
    for (const waiter of this.waiters.get(owner) ?? []) {
      if (waiter.token !== token) continue;
      this.dequeue(waiter);
      waiter.reject(new HostError(Status.ERROR, "the lookup was closed"));
    }
  }

  /**
   * Starts a replace. `immediate` just reads what is there; `immediate_force_miss`
   * also removes it and makes later transactional lookups wait for the
   * replacement; `wait` queues behind any insert in progress first.
   */
  replace(owner: number, request: CoreReplace): number | Promise<number> {
    const primary = CORE + request.key;
    const headers = Headers.fromFlat(request.headers);
    const aurr = request.alwaysUseRequestedRange;
    const key = this.flightKey(primary, headers);
    if (request.strategy === ReplaceStrategy.IMMEDIATE) {
      return this.open(owner, primary, headers, this.usable(primary, headers), null, aurr, true).id;
    }
    if (request.strategy === ReplaceStrategy.IMMEDIATE_FORCE_MISS) {
      const existing = this.usable(primary, headers);
      const entry = this.open(owner, primary, headers, existing, this.flights.has(key) ? null : key, aurr, true);
      if (existing) this.store.remove(existing);
      return entry.id;
    }
    return this.wait(owner, null, () => {
      const flight = this.flights.get(key);
      if (flight) return flight;
      return this.open(owner, primary, headers, this.usable(primary, headers), key, aurr, true).id;
    });
  }

  // ---- writes ----

  /** Non-transactional insert: the object is visible at once; its body is filled with `fill`. */
  insert(options: CoreWriteOptions, key: string): CacheObject {
    const primary = CORE + key;
    const object = this.make(primary, Headers.fromFlat(options.headers ?? []), options, new GrowingBody());
    this.put(object);
    this.wake(primary);
    return object;
  }

  /** Fulfils an obligation with a new object; with `streamBack`, also opens an entry that reads it. */
  transactionInsert(owner: number, id: number, options: CoreWriteOptions, streamBack: boolean): { object: CacheObject; entry: number | null } {
    const entry = this.entry(owner, id, false);
    if (!entry.flight) throw badf("this handle has no obligation to insert");
    const object = this.make(entry.primary, entry.headers, options, new GrowingBody());
    this.put(object);
    this.settle(entry.flight);
    this.wake(entry.primary);
    const reader = streamBack ? this.open(owner, entry.primary, entry.headers, object, null, entry.alwaysUseRequestedRange, false).id : null;
    return { object, entry: reader };
  }

  /** Fulfils an obligation by freshening the found object: new metadata, the same bytes. */
  transactionUpdate(owner: number, id: number, options: CoreWriteOptions): void {
    const entry = this.entry(owner, id, false);
    const old = entry.found;
    if (!entry.flight || !old) throw badf("this handle has no object to update");
    const length = options.length ?? knownLength(old);
    const object = this.make(entry.primary, entry.headers, { ...options, length }, follow(old.body));
    object.hits = old.hits;
    this.put(object);
    this.settle(entry.flight);
    this.wake(entry.primary);
  }

  /** Gives up an obligation: a waiting lookup takes it over. */
  transactionCancel(owner: number, id: number): void {
    const entry = this.entry(owner, id, false);
    if (!entry.flight) throw badf("this handle has no obligation to cancel");
    this.settle(entry.flight);
  }

  /** Provides the replacement object; the replace handle is used up. */
  replaceInsert(owner: number, id: number, options: CoreWriteOptions): CacheObject {
    const entry = this.entry(owner, id, true);
    const headers = options.headers ? Headers.fromFlat(options.headers) : entry.headers;
    const object = this.make(entry.primary, headers, options, new GrowingBody());
    this.put(object);
    this.close(owner, id);
    this.wake(entry.primary);
    return object;
  }

  /**
   * Copies what the guest writes into the object; readers follow along. A
   * stream abandoned, or longer or shorter than the declared length, fails the
   * object: readers see an error and it leaves the store.
   */
  async fill(object: CacheObject, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const declared = object.declaredLength;
    try {
      for await (const chunk of chunks) {
        if (declared !== null && object.body.length + chunk.byteLength > declared) throw new Error("more bytes than the declared length");
        object.body.append(chunk);
        // Outgrown what the store keeps (or no longer stored): only open handles still read it.
        if (!this.store.grew(object)) object.body.release();
      }
      if (declared !== null && object.body.length !== declared) throw new Error(`${object.body.length} bytes written, ${declared} declared`);
      object.body.end();
    } catch (error) {
      object.body.fail(error instanceof Error ? error : new Error(String(error)));
      this.store.remove(object);
    }
  }

  // ---- handles ----

  /** Closes a handle; an obligation it still holds passes to a waiting lookup. */
  close(owner: number, id: number): void {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner) throw badf(`unknown cache handle ${id}`);
    this.entries.delete(id);
    entry.pin?.destroy();
    if (entry.flight) this.settle(entry.flight);
  }

  /** State and metadata of what a handle found, as of now. */
  details(owner: number, id: number): CoreDetails {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner) throw badf(`unknown cache handle ${id}`);
    const object = entry.found;
    const state = this.state(entry);
    if (!object) {
      return { state, found: false, length: null, maxAgeNs: 0n, staleWhileRevalidateNs: 0n, ageNs: 0n, hits: 0, userMetadata: new Uint8Array(0) };
    }
    const durations = durationsOf(object);
    const elapsedNs = BigInt(Math.max(0, Math.floor((this.now() - object.responseTime) * 1e6)));
    return {
      state,
      found: true,
      length: knownLength(object),
      maxAgeNs: durations.maxAgeNs,
      staleWhileRevalidateNs: durations.staleWhileRevalidateNs,
      ageNs: durations.initialAgeNs + elapsedNs,
      hits: object.hits,
      userMetadata: object.userMetadata,
    };
  }

  /** A stream over (a range of) the found object's body; null when nothing was found. */
  body(owner: number, id: number, range: ByteRange): { stream: Readable; length: number } | null {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner) throw badf(`unknown cache handle ${id}`);
    const object = entry.found;
    if (!object) return null;
    const length = knownLength(object);
    try {
      return readRange(object.body, planRange(length, range, entry.alwaysUseRequestedRange), length);
    } catch {
      throw new HostError(Status.ERROR, "the object's body is no longer available");
    }
  }

  /** The request ended: its waiting lookups stop and its handles close. */
  endOwner(owner: number): void {
    for (const waiter of this.waiters.get(owner) ?? []) {
      this.dequeue(waiter);
      waiter.reject(new HostError(Status.ERROR, "the request has ended"));
    }
    this.waiters.delete(owner);
    for (const entry of [...this.entries.values()]) if (entry.owner === owner) this.close(owner, entry.id);
  }

  // ---- internals ----

  private entry(owner: number, id: number, replace: boolean): Entry {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner || entry.replace !== replace) throw badf(`unknown cache handle ${id}`);
    return entry;
  }

  private open(
    owner: number,
    primary: string,
    headers: Headers,
    found: CacheObject | null,
    obligation: string | null,
    alwaysUseRequestedRange: boolean,
    replace: boolean,
  ): Entry {
    const entry: Entry = { id: this.nextId++, owner, primary, headers, found, flight: null, replace, alwaysUseRequestedRange, pin: found ? pin(found.body) : null };
    if (obligation !== null) {
      entry.flight = { key: obligation, holder: entry, waiters: [] };
      this.flights.set(obligation, entry.flight);
    }
    this.entries.set(entry.id, entry);
    return entry;
  }

  /**
   * Runs `attempt` now: its entry when it completes at once, else a promise
   * of it, running `attempt` again whenever the flight it waits on settles.
   */
  private wait(owner: number, token: string | null, attempt: () => number | Flight): number | Promise<number> {
    const first = attempt();
    if (typeof first === "number") return first;
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        owner,
        token,
        flight: null,
        run: () => {
          let outcome: number | Flight;
          try {
            outcome = attempt();
          } catch (error) {
            this.dequeue(waiter);
            reject(error);
            return;
          }
          this.queue(waiter, outcome, resolve);
        },
        reject,
      };
      let mine = this.waiters.get(owner);
      if (!mine) this.waiters.set(owner, (mine = new Set()));
      mine.add(waiter);
      this.queue(waiter, first, resolve);
    });
  }

  private queue(waiter: Waiter, outcome: number | Flight, resolve: (entry: number) => void): void {
    if (typeof outcome === "number") {
      this.waiters.get(waiter.owner)?.delete(waiter);
      waiter.flight = null;
      resolve(outcome);
    } else {
      waiter.flight = outcome;
      outcome.waiters.push(waiter);
    }
  }

  private dequeue(waiter: Waiter): void {
    this.waiters.get(waiter.owner)?.delete(waiter);
    if (waiter.flight) waiter.flight.waiters = waiter.flight.waiters.filter((other) => other !== waiter);
    waiter.flight = null;
  }

  /** The obligation is over (fulfilled or given up): its waiters look again, in order. */
  private settle(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    flight.holder.flight = null;
    const waiters = flight.waiters;
    flight.waiters = [];
    for (const waiter of waiters) waiter.run();
  }

  /** Something was stored for a key: lookups waiting on it look again (they may find it). */
  private wake(primary: string): void {
    for (const flight of [...this.flights.values()]) {
      if (!flight.key.startsWith(primary + "\n") || flight.waiters.length === 0) continue;
      const waiters = flight.waiters;
      flight.waiters = [];
      for (const waiter of waiters) waiter.run();
    }
  }

  /** Variants collapse separately: the key is the variant the current vary rule selects. */
  private flightKey(primary: string, headers: Headers): string {
    return `${primary}\n${secondaryKey(this.store.varyRuleOf(primary) ?? [], headers)}`;
  }

  /** The stored variant for these headers while it may be used (fresh or within stale-while-revalidate). */
  private usable(primary: string, headers: Headers): CacheObject | null {
    const object = this.store.lookup(primary, headers);
    if (!object || object.body.error) return null;
    return usability(object.lifetimes, this.now()) === "stale" ? null : object;
  }

  /** `$cache_lookup_state`: FOUND means usable, as on the platform (SDKs test FOUND alone). */
  private state(entry: Entry): number {
    let state = 0;
    if (entry.found) {
      const use = usability(entry.found.lifetimes, this.now());
      if (use !== "stale") state |= CacheState.FOUND | CacheState.USABLE;
      if (use === "stale-while-revalidate") state |= CacheState.STALE;
    }
    if (entry.flight || entry.replace) state |= CacheState.MUST_INSERT_OR_UPDATE;
    return state;
  }

  private put(object: CacheObject): void {
    // Too large to keep: it is still written, for the handles reading it.
    if (!this.store.insert(object)) object.body.release();
  }

  private make(primary: string, headers: Headers, options: CoreWriteOptions, body: GrowingBody): CacheObject {
    return coreObject(primary, headers, options, body, this.now());
  }
}
