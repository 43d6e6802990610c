// Token checks for the admin API and `PURGE` requests: the token travels in
// a `Fastly-Key` header, as the platform's API expects (or as a bearer token,
// for Prometheus scrapers), and is compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";

type HeaderValue = string | string[] | undefined;

/** The token a request presents: its Fastly-Key header, else an `Authorization: Bearer` token. */
export function presentedToken(fastlyKey: HeaderValue, authorization: HeaderValue): string | undefined {
  const key = first(fastlyKey);
  if (key !== undefined) return key.trim();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(first(authorization) ?? "");
  return bearer?.[1];
}

/** Constant-time comparison: hashing first makes both sides the same length. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export const UNAUTHORIZED = {
  msg: "Provided credentials are missing or invalid",
  detail: "send the server's admin token (--admin-token or OUTPOST_ADMIN_TOKEN) in a Fastly-Key header",
};

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
