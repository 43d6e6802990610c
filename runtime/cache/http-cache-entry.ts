// A transaction of the HTTP Cache API (runtime/cache/http-cache-api.ts) and
// what the guest's side is told of it: its lookup state and the found
// response's metadata, enough to answer the getters without asking again.
import type { Readable } from "node:stream";
import { knownLength, type LookedUp, ns } from "./http-cache-rules.ts";
import { conditionalHeaders, hasValidators } from "./policy.ts";
import type { CacheObject } from "./store.ts";

/** `$cache_lookup_state` flags. */
export const LookupState = { FOUND: 1, USABLE: 2, STALE: 4, MUST_INSERT_OR_UPDATE: 8, USABLE_IF_ERROR: 16 } as const;

/** What the guest's side keeps of a transaction: enough to answer the getters without asking again. */
export interface EntryView {
  id: number;
  /** `$cache_lookup_state` flags. */
  state: number;
  /** Whether `get_found_response` has a response to give. */
  servable: boolean;
  found: FoundInfo | null;
  /** Validators to revalidate the found response with (for `get_suggested_backend_request`). */
  validators: [string, string][];
}

/** The found response's metadata, as of the lookup. */
export interface FoundInfo {
  length: number | null;
  maxAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  staleIfErrorNs: bigint;
  ageNs: bigint;
  hits: number;
  sensitive: boolean;
  /** Space-separated. */
  surrogateKeys: string;
  /** Space-separated header names. */
  varyRule: string;
}

/** The request a transaction belongs to: entries end with it. */
export interface Owner {
  rid: number;
  alive(): boolean;
}

/** The result of a call that changes a transaction: its new view, and the view of a new one it returns. */
export interface Changed {
  view: EntryView;
  fresh: EntryView | null;
}

/** How a collapsed request ended for those who waited on it. */
export type Outcome = { kind: "stored" | "uncacheable" | "abandoned" } | { kind: "stale"; object: CacheObject };

/** An obligation to insert or update; registered in `inFlight` for others to wait on unless it is a plain lookup's. */
export interface Obligation {
  key: string;
  done: Promise<Outcome>;
  settle(outcome: Outcome): void;
}

export interface Entry {
  id: number;
  owner: number;
  /** The 32-byte cache key looked up. */
  key: Uint8Array;
  primary: string;
  request: LookedUp;
  found: CacheObject | null;
  servable: boolean;
  state: number;
  obligation: Obligation | null;
  /**
   * A reader of the found object's body, registered when it was found, so
   * that the bytes stay readable even if the object leaves the store before
   * the guest asks for them. The first found response uses it.
   */
  pin: Readable | null;
}

/** The guest's view of a transaction at `now`. */
export function entryView(entry: Entry, now: number): EntryView {
  const object = entry.found;
  // RFC 9111 §4.3.1: the stored response's validators, for the request that revalidates it.
  const revalidate = object && entry.obligation && object.status === 200 && hasValidators(object.headers);
  return {
    id: entry.id,
    state: entry.state,
    servable: entry.servable,
    validators: revalidate ? conditionalHeaders(object.headers) : [],
    found: object
      ? {
          length: knownLength(object),
          maxAgeNs: ns(object.freshness.lifetime),
          staleWhileRevalidateNs: ns(object.freshness.staleWhileRevalidate),
          staleIfErrorNs: ns(object.freshness.staleIfError),
          ageNs: ns(object.freshness.initialAge + (now - object.responseTime) / 1000),
          hits: object.hits,
          sensitive: object.sensitive,
          surrogateKeys: object.surrogateKeys.join(" "),
          varyRule: object.varyRule.join(" "),
        }
      : null,
  };
}

/** A reader of an object's whole body, or null when the body is no longer whole. */
export function readerOf(object: CacheObject): Readable | null {
  try {
    return object.body.readable();
  } catch {
    return null;
  }
}

