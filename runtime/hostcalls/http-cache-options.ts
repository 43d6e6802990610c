// The records of `fastly_http_cache` in guest memory: lookup options and
// write options in, suggested write options out (witx http-cache.witx; the
// layouts are in ABI-SUMMARY §8).
import { HostError, Status } from "../abi/status.ts";
import type { Suggestion, WriteOptions } from "../cache/http-cache-rules.ts";
import type { GuestMemory } from "../engine/guest-memory.ts";
import type { Session } from "../session/session.ts";
import { latin1 } from "./abi-io.ts";

/** `$http_cache_lookup_options_mask`. */
export const LookupMask = { RESERVED: 1 << 0, OVERRIDE_KEY: 1 << 1, BACKEND_NAME: 1 << 2 } as const;

/** `$http_cache_write_options_mask`. */
export const WriteMask = {
  RESERVED: 1 << 0,
  VARY_RULE: 1 << 1,
  INITIAL_AGE_NS: 1 << 2,
  STALE_WHILE_REVALIDATE_NS: 1 << 3,
  SURROGATE_KEYS: 1 << 4,
  LENGTH: 1 << 5,
  SENSITIVE_DATA: 1 << 6,
  STALE_IF_ERROR_NS: 1 << 7,
} as const;

const LOOKUP_FLAGS = LookupMask.OVERRIDE_KEY | LookupMask.BACKEND_NAME;
const WRITE_FLAGS = 0xfe;

/** `http_cache_write_options` field offsets (size 56, align 8). */
const W = { maxAge: 0, varyPtr: 8, varyLen: 12, initialAge: 16, swr: 24, keysPtr: 32, keysLen: 36, length: 40, sie: 48 } as const;

/** HTTP cache keys are 32 bytes (witx `get_suggested_cache_key`; WIT `lookup-options.override-key`). */
export const CACHE_KEY_BYTES = 32;
const MAX_SURROGATE_KEY_BYTES = 1024;
const MAX_SURROGATE_KEYS_BYTES = 16 * 1024;
// RFC 9110 §5.1: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `http_cache_lookup_options`: the override key, if any. A backend name must name a backend of the service. */
export function readLookupOptions(s: Session, mask: number, ptr: number): { overrideKey: Uint8Array | null } {
  if (mask & ~LOOKUP_FLAGS) throw new HostError(Status.INVAL, "unknown HTTP cache lookup options");
  let overrideKey: Uint8Array | null = null;
  if (mask & LookupMask.OVERRIDE_KEY) {
    overrideKey = s.mem.copy(s.mem.readU32(ptr), s.mem.readU32(ptr + 4));
    if (overrideKey.byteLength !== CACHE_KEY_BYTES) throw new HostError(Status.INVAL, `an HTTP cache key is ${CACHE_KEY_BYTES} bytes`);
  }
  if (mask & LookupMask.BACKEND_NAME) {
    // The backend the request will go to: it must exist; this host's keys do not depend on it.
    const name = s.mem.string(s.mem.readU32(ptr + 8), s.mem.readU32(ptr + 12));
    if (!s.service.backends.some((backend) => backend.name === name)) throw new HostError(Status.INVAL, `unknown backend ${name}`);
  }
  return { overrideKey };
}

/** `http_cache_write_options`: `max_age_ns` always, the rest as the mask says, unset ones at their documented defaults. */
export function readWriteOptions(mem: GuestMemory, mask: number, ptr: number, only?: "max-age-and-vary"): WriteOptions {
  if (mask & ~WRITE_FLAGS) throw new HostError(Status.INVAL, "unknown HTTP cache write options");
  const has = (flag: number) => (mask & flag) !== 0 && (only === undefined || flag === WriteMask.VARY_RULE);
  const length = has(WriteMask.LENGTH) ? mem.readU64(ptr + W.length) : null;
  if (length !== null && length > BigInt(Number.MAX_SAFE_INTEGER)) throw new HostError(Status.INVAL, "body length too large");
  return {
    maxAgeNs: mem.readU64(ptr + W.maxAge),
    varyRule: has(WriteMask.VARY_RULE) ? parseVaryRule(mem.latin1(mem.readU32(ptr + W.varyPtr), mem.readU32(ptr + W.varyLen))) : null,
    initialAgeNs: has(WriteMask.INITIAL_AGE_NS) ? mem.readU64(ptr + W.initialAge) : 0n,
    staleWhileRevalidateNs: has(WriteMask.STALE_WHILE_REVALIDATE_NS) ? mem.readU64(ptr + W.swr) : 0n,
    staleIfErrorNs: has(WriteMask.STALE_IF_ERROR_NS) ? mem.readU64(ptr + W.sie) : 0n,
    surrogateKeys: has(WriteMask.SURROGATE_KEYS) ? parseSurrogateKeys(mem.slice(mem.readU32(ptr + W.keysPtr), mem.readU32(ptr + W.keysLen))) : [],
    length: length === null ? null : Number(length),
    sensitive: has(WriteMask.SENSITIVE_DATA),
  };
}

/** Header names separated by spaces: lower-cased, sorted, without duplicates (as the store keys variants). */
function parseVaryRule(text: string): string[] {
  const names = text.split(" ").filter(Boolean);
  if (!names.every((name) => TOKEN.test(name))) throw new HostError(Status.INVAL, "a vary rule names an invalid header");
  return [...new Set(names.map((name) => name.toLowerCase()))].sort();
}

/**
 * Surrogate keys separated by spaces: each visible ASCII, at most 1024
 * bytes, 16 KiB in all (the platform's limits; Viceroy checks the same).
 */
function parseSurrogateKeys(bytes: Uint8Array): string[] {
  if (bytes.byteLength > MAX_SURROGATE_KEYS_BYTES) throw new HostError(Status.INVAL, "surrogate keys exceed 16 KiB");
  const keys = new Set<string>();
  for (const key of Buffer.from(bytes).toString("latin1").split(" ")) {
    if (!key) continue;
    if (key.length > MAX_SURROGATE_KEY_BYTES) throw new HostError(Status.INVAL, "a surrogate key exceeds 1024 bytes");
    if (!/^[\x21-\x7e]+$/.test(key)) throw new HostError(Status.INVAL, "a surrogate key has characters other than visible ASCII");
    keys.add(key);
  }
  return [...keys];
}

/**
 * `get_suggested_cache_options`' outputs. `max_age_ns` is always written;
 * each other field only when its flag was requested. Pointer/length fields
 * are written into the buffers the guest gave in `options` (the pointer
 * echoed, the length written or, when the buffer is short, the length
 * needed and the call answers `buflen`). `options_mask_out` gets the
 * requested flags whose value is present: the pointer/length and duration
 * fields always, `length` when known, `sensitive_data` when set.
 */
export function writeSuggestion(mem: GuestMemory, requested: number, inPtr: number, maskOut: number, outPtr: number, suggestion: Suggestion): number {
  if (requested & ~WRITE_FLAGS) throw new HostError(Status.INVAL, "unknown HTTP cache write options");
  // The guest's buffers, read before anything is written (`options` and `options_out` may be one record).
  const buffer = (flag: number, at: number) => (requested & flag ? { ptr: mem.readU32(inPtr + at), len: mem.readU32(inPtr + at + 4) } : null);
  const varyBuffer = buffer(WriteMask.VARY_RULE, W.varyPtr);
  const keysBuffer = buffer(WriteMask.SURROGATE_KEYS, W.keysPtr);
  let flags = 0;
  let short = false;
  const text = (flag: number, at: number, target: { ptr: number; len: number } | null, value: string) => {
    if (!target) return;
    const bytes = latin1(value);
    flags |= flag;
    mem.u32(outPtr + at, target.ptr);
    mem.u32(outPtr + at + 4, bytes.byteLength);
    if (bytes.byteLength > target.len) short = true;
    else mem.write(target.ptr, bytes);
  };
  const duration = (flag: number, at: number, value: bigint) => {
    if (!(requested & flag)) return;
    flags |= flag;
    mem.u64(outPtr + at, value);
  };
  mem.u64(outPtr + W.maxAge, suggestion.maxAgeNs);
  text(WriteMask.VARY_RULE, W.varyPtr, varyBuffer, suggestion.varyRule);
  text(WriteMask.SURROGATE_KEYS, W.keysPtr, keysBuffer, suggestion.surrogateKeys);
  duration(WriteMask.INITIAL_AGE_NS, W.initialAge, suggestion.initialAgeNs);
  duration(WriteMask.STALE_WHILE_REVALIDATE_NS, W.swr, suggestion.staleWhileRevalidateNs);
  duration(WriteMask.STALE_IF_ERROR_NS, W.sie, suggestion.staleIfErrorNs);
  if (requested & WriteMask.LENGTH && suggestion.length !== null) {
    flags |= WriteMask.LENGTH;
    mem.u64(outPtr + W.length, suggestion.length);
  }
  if (requested & WriteMask.SENSITIVE_DATA && suggestion.sensitive) flags |= WriteMask.SENSITIVE_DATA;
  mem.u32(maskOut, flags);
  return short ? Status.BUFLEN : Status.OK;
}
