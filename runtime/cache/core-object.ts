// Core Cache API objects as the store keeps them: a CacheObject built from
// `$cache_write_options` (times as the store counts them, the exact
// nanosecond durations kept aside for the getters), and the helpers that
// read its length or copy its bytes.
import type { CoreWriteOptions } from "../session/cache-handles.ts";
import { Headers } from "../session/headers.ts";
import { pin } from "./core-body.ts";
import { GrowingBody } from "./growing-body.ts";
import { type Freshness, lifetimes, secondaryKey } from "./policy.ts";
import type { CacheObject } from "./store.ts";

/** Durations exactly as written (the store keeps seconds and milliseconds). */
export interface Durations {
  maxAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  initialAgeNs: bigint;
}

const durations = new WeakMap<CacheObject, Durations>();

/**
 * A new object: fresh for `max_age` less its initial age, then usable stale for
 * `stale_while_revalidate`, after which it is gone (found means usable).
 */
export function coreObject(primary: string, requestHeaders: Headers, options: CoreWriteOptions, body: GrowingBody, now: number): CacheObject {
  const seconds = (ns: bigint) => Number(ns) / 1e9;
  const freshness: Freshness = {
    initialAge: seconds(options.initialAgeNs),
    lifetime: seconds(options.maxAgeNs),
    staleWhileRevalidate: seconds(options.staleWhileRevalidateNs),
    staleIfError: 0,
    noCache: false,
    mustRevalidate: false,
  };
  const times = lifetimes(freshness, now);
  const object: CacheObject = {
    primary,
    varyRule: options.varyRule,
    secondary: secondaryKey(options.varyRule, requestHeaders),
    status: 200,
    headers: new Headers(),
    body,
    userMetadata: options.userMetadata,
    surrogateKeys: options.surrogateKeys,
    freshness,
    responseTime: now,
    lifetimes: times,
    deleteAt: Math.max(times.staleAt, times.staleWhileRevalidateUntil),
    hits: 0,
    declaredLength: options.length,
    sensitive: options.sensitive,
  };
  durations.set(object, {
    maxAgeNs: options.maxAgeNs,
    staleWhileRevalidateNs: options.staleWhileRevalidateNs,
    initialAgeNs: options.initialAgeNs,
  });
  return object;
}

/** Exact durations as written; derived from the stored freshness for objects written elsewhere. */
export function durationsOf(object: CacheObject): Durations {
  const known = durations.get(object);
  if (known) return known;
  const ns = (seconds: number) => BigInt(Math.round(seconds * 1e9));
  const f = object.freshness;
  return { maxAgeNs: ns(f.lifetime), staleWhileRevalidateNs: ns(f.staleWhileRevalidate), initialAgeNs: ns(f.initialAge) };
}

/** The object's length: declared, or once its body is complete. */
export function knownLength(object: CacheObject): number | null {
  return object.declaredLength ?? (object.body.complete ? object.body.length : null);
}

/** A new body with the same bytes as `source`, following it while it is still written. */
export function follow(source: GrowingBody): GrowingBody {
  const copy = new GrowingBody();
  const stream = pin(source);
  if (!stream) {
    copy.fail(new Error("the object's body is no longer available"));
    return copy;
  }
  stream.on("data", (chunk: Uint8Array) => copy.append(chunk));
  stream.on("end", () => copy.end(source.trailers));
  stream.on("error", (error: Error) => copy.fail(error));
  return copy;
}
