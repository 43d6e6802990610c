// Decoding the Core Cache API's arguments from guest memory: keys and the
// option records (`$cache_lookup_options`, `$cache_replace_options`,
// `$cache_write_options`, `$cache_get_body_options`; layouts in
// ABI-SUMMARY.md §8). Fields are read only when their mask bit is set (only
// `max_age_ns` always is); mask bits this host does not implement
// (`service_id`, `reserved`, unknown ones) answer `unsupported`, as Viceroy does.
import { HostError, Status } from "../abi/status.ts";
import type { ByteRange, CoreWriteOptions } from "../session/cache-handles.ts";
import type { Session } from "../session/session.ts";

/** The platform's longest cache key. */
export const MAX_KEY_BYTES = 4096;
const MAX_SURROGATE_KEY_BYTES = 1024;
const MAX_SURROGATE_KEYS_BYTES = 16 * 1024;

export const LookupMask = { REQUEST_HEADERS: 1 << 1, SERVICE_ID: 1 << 2, ALWAYS_USE_REQUESTED_RANGE: 1 << 3 } as const;
export const ReplaceMask = { REQUEST_HEADERS: 1 << 1, REPLACE_STRATEGY: 1 << 2, SERVICE_ID: 1 << 3, ALWAYS_USE_REQUESTED_RANGE: 1 << 4 } as const;
export const WriteMask = {
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
} as const;
export const GetBodyMask = { FROM: 1 << 1, TO: 1 << 2 } as const;

// RFC 9110 §5.6.2 token characters: what a header name in a vary rule may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkMask(mask: number, known: number, serviceId: number, what: string): void {
  if (mask & serviceId) throw new HostError(Status.UNSUPPORTED, `${what}: service_id (on behalf of another service) is not supported`);
  if ((mask >>> 0) & ~known) throw new HostError(Status.UNSUPPORTED, `${what}: unknown option bits ${(mask >>> 0).toString(2)}`);
}

/** A cache key (up to 4 KiB of bytes), hex-encoded for the main thread. */
export function cacheKey(s: Session, ptr: number, len: number): string {
  if (len >>> 0 > MAX_KEY_BYTES) throw new HostError(Status.INVAL, `cache keys are at most ${MAX_KEY_BYTES} bytes`);
  return Buffer.from(s.mem.slice(ptr, len)).toString("hex");
}

/** The headers of a request handle, as a flat list. */
function requestHeaders(s: Session, handle: number): string[] {
  return s.requests.get(handle).headers.toFlat();
}

export interface LookupOptions {
  headers: string[];
  alwaysUseRequestedRange: boolean;
}

export function lookupOptions(s: Session, mask: number, ptr: number): LookupOptions {
  checkMask(mask, LookupMask.REQUEST_HEADERS | LookupMask.ALWAYS_USE_REQUESTED_RANGE, LookupMask.SERVICE_ID, "cache_lookup_options");
  return {
    headers: mask & LookupMask.REQUEST_HEADERS ? requestHeaders(s, s.mem.readU32(ptr)) : [],
    alwaysUseRequestedRange: (mask & LookupMask.ALWAYS_USE_REQUESTED_RANGE) !== 0,
  };
}

export interface ReplaceOptions extends LookupOptions {
  strategy: number;
}

export function replaceOptions(s: Session, mask: number, ptr: number): ReplaceOptions {
  const known = ReplaceMask.REQUEST_HEADERS | ReplaceMask.REPLACE_STRATEGY | ReplaceMask.ALWAYS_USE_REQUESTED_RANGE;
  checkMask(mask, known, ReplaceMask.SERVICE_ID, "cache_replace_options");
  const strategy = mask & ReplaceMask.REPLACE_STRATEGY ? s.mem.readU32(ptr + 4) : 0;
  if (strategy > 2) throw new HostError(Status.INVAL, `unknown replace strategy ${strategy}`);
  return {
    headers: mask & ReplaceMask.REQUEST_HEADERS ? requestHeaders(s, s.mem.readU32(ptr)) : [],
    alwaysUseRequestedRange: (mask & ReplaceMask.ALWAYS_USE_REQUESTED_RANGE) !== 0,
    strategy,
  };
}

/** A vary rule: header names separated by spaces, normalised (lower-case, sorted, unique). */
function varyRule(text: string): string[] {
  const names = text.split(" ").filter(Boolean);
  for (const name of names) if (!TOKEN.test(name)) throw new HostError(Status.INVAL, `invalid header name ${JSON.stringify(name)} in vary rule`);
  return [...new Set(names.map((name) => name.toLowerCase()))].sort();
}

/**
 * Surrogate keys separated by spaces. As the platform documents, keys that
 * are not visible ASCII or exceed 1 KiB are ignored, as are keys past 16 KiB
 * in all.
 */
function surrogateKeys(bytes: Uint8Array): string[] {
  const keys = new Set<string>();
  let total = 0;
  for (const key of Buffer.from(bytes).toString("latin1").split(" ")) {
    if (!key || key.length > MAX_SURROGATE_KEY_BYTES || !/^[\x21-\x7e]+$/.test(key)) continue;
    total += key.length + 1;
    if (total > MAX_SURROGATE_KEYS_BYTES) break;
    keys.add(key);
  }
  return [...keys];
}

/**
 * `$cache_write_options`. `max_age_ns` is always read. Request headers are
 * for the non-transactional writes only (`insert`, `replace_insert`): a
 * transaction keeps the headers of its lookup, so they are `inval` there.
 */
export function writeOptions(s: Session, mask: number, ptr: number, headersAllowed: boolean): CoreWriteOptions {
  const known = Object.values(WriteMask).reduce((all, bit) => all | bit, 0) & ~WriteMask.SERVICE_ID;
  checkMask(mask, known, WriteMask.SERVICE_ID, "cache_write_options");
  if (mask & WriteMask.REQUEST_HEADERS && !headersAllowed) {
    throw new HostError(Status.INVAL, "request headers belong to the lookup in a transaction");
  }
  const u64 = (bit: number, offset: number) => (mask & bit ? s.mem.readU64(ptr + offset) : 0n);
  const bytes = (bit: number, offset: number) => (mask & bit ? s.mem.slice(s.mem.readU32(ptr + offset), s.mem.readU32(ptr + offset + 4)) : null);
  const maxAgeNs = s.mem.readU64(ptr);
  const vary = bytes(WriteMask.VARY_RULE, 12);
  const keys = bytes(WriteMask.SURROGATE_KEYS, 40);
  const metadata = bytes(WriteMask.USER_METADATA, 56);
  const edgeMaxAgeNs = mask & WriteMask.EDGE_MAX_AGE_NS ? s.mem.readU64(ptr + 64) : maxAgeNs;
  if (edgeMaxAgeNs > maxAgeNs) throw new HostError(Status.INVAL, "edge_max_age_ns exceeds max_age_ns");
  let varyText = "";
  if (vary) {
    try {
      varyText = new TextDecoder("utf-8", { fatal: true }).decode(vary);
    } catch {
      throw new HostError(Status.INVAL, "vary rule is not valid UTF-8");
    }
  }
  return {
    maxAgeNs,
    initialAgeNs: u64(WriteMask.INITIAL_AGE_NS, 24),
    staleWhileRevalidateNs: u64(WriteMask.STALE_WHILE_REVALIDATE_NS, 32),
    varyRule: varyRule(varyText),
    surrogateKeys: keys ? surrogateKeys(keys) : [],
    length: mask & WriteMask.LENGTH ? Number(s.mem.readU64(ptr + 48)) : null,
    userMetadata: metadata ? metadata.slice() : new Uint8Array(0),
    sensitive: (mask & WriteMask.SENSITIVE_DATA) !== 0,
    edgeMaxAgeNs,
    headers: mask & WriteMask.REQUEST_HEADERS ? requestHeaders(s, s.mem.readU32(ptr + 8)) : null,
  };
}

/** `$cache_get_body_options`: `from` and `to` (inclusive), each when its bit is set. */
export function bodyRange(s: Session, mask: number, ptr: number): ByteRange {
  checkMask(mask, GetBodyMask.FROM | GetBodyMask.TO, 0, "cache_get_body_options");
  const offset = (bit: number, at: number) => {
    if (!(mask & bit)) return null;
    const value = s.mem.readU64(ptr + at);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  };
  return { from: offset(GetBodyMask.FROM, 0), to: offset(GetBodyMask.TO, 8) };
}
