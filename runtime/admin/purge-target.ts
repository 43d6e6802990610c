// What a purge names, in the forms the platform's purge API takes: a cached
// URL as "host/path?query" (with or without a scheme), surrogate keys as a
// space-separated list, and the soft-purge header.

/** The platform's batch limit for one surrogate-key purge request. */
export const MAX_KEYS_PER_PURGE = 256;

/**
 * The cache's primary key (host and path, as policy.ts's `primaryKey` builds
 * it) for a cached URL, or null when it names no host.
 */
export function urlPurgeKey(target: string): string | null {
  const rest = target.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = rest.search(/[/?]/);
  const host = slash < 0 ? rest : rest.slice(0, slash);
  let path = slash < 0 ? "/" : rest.slice(slash);
  if (path.startsWith("?")) path = "/" + path;
  if (!host) return null;
  return host.toLowerCase() + path;
}

/** Surrogate keys from a `Surrogate-Key` header value: separated by whitespace. */
export function splitKeys(value: string | undefined): string[] {
  return (value ?? "").split(/\s+/).filter((key) => key.length > 0);
}

/** `Fastly-Soft-Purge: 1` asks for a soft purge (mark stale rather than remove). */
export function isSoftPurge(value: string | string[] | undefined): boolean {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text !== undefined && text !== "" && text !== "0";
}

let sequence = 0;

/** A purge id shaped like the platform's ("<seq>-<unix seconds>-<random>"); it has no meaning locally. */
export function purgeId(): string {
  sequence++;
  const random = Math.floor(Math.random() * 1_000_000);
  return `${sequence}-${Math.floor(Date.now() / 1000)}-${random}`;
}
