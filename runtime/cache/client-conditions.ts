// A client's own conditions on a stored response: the validators it already
// holds (If-None-Match, If-Modified-Since), its preconditions (If-Match,
// If-Unmodified-Since) and the byte range it wants (Range, If-Range). A cache
// answers them from what it stores (RFC 9111 §4.3.2) instead of asking the
// origin. Used by the HTTP Cache API's transform_for_client and by the
// no-code service; pure functions of the fields.
import type { Headers } from "../session/headers.ts";
import { parseHttpDate } from "./policy.ts";

/** The request fields this file answers (lower case). */
export const CLIENT_CONDITION_FIELDS: ReadonlySet<string> = new Set([
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "range",
]);

/** An entity tag without its weakness marker, for weak comparison (RFC 9110 §8.8.3.2). */
function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}

function tagList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((t) => t.trim()).filter((t) => t !== "");
}

/**
 * RFC 9110 §13.1.1 and §13.1.4: whether a precondition of the client fails on
 * the stored response (answered with 412). If-Match compares strongly;
 * If-Unmodified-Since counts only without If-Match.
 */
export function preconditionFailed(request: Headers, stored: Headers): boolean {
  const ifMatch = request.getAll("if-match");
  if (ifMatch.length > 0) {
    const tags = tagList(ifMatch);
    if (tags.includes("*")) return false;
    const etag = stored.get("etag")?.trim();
    return !etag || etag.startsWith("W/") || !tags.includes(etag);
  }
  const since = parseHttpDate(request.get("if-unmodified-since"));
  const lastModified = parseHttpDate(stored.get("last-modified"));
  return since !== null && lastModified !== null && lastModified > since;
}

/**
 * RFC 9110 §13.1.2 (weak comparison) and §13.1.3: whether the client's copy
 * is current (answered with 304). If-Modified-Since counts only without
 * If-None-Match.
 */
export function notModified(request: Headers, stored: Headers): boolean {
  const ifNoneMatch = request.getAll("if-none-match");
  if (ifNoneMatch.length > 0) {
    const etag = stored.get("etag");
    if (!etag) return false;
    return tagList(ifNoneMatch).some((tag) => tag === "*" || opaque(tag) === opaque(etag));
  }
  const since = parseHttpDate(request.get("if-modified-since"));
  const lastModified = parseHttpDate(stored.get("last-modified"));
  return since !== null && lastModified !== null && lastModified <= since;
}

/**
 * RFC 9110 §14.2: the one `bytes` range of a representation of `length` bytes
 * that the client asks for, end exclusive. undefined: serve the whole
 * response (no range, several ranges, a stale If-Range); null: unsatisfiable.
 */
export function requestedRange(request: Headers, stored: Headers, length: number): [number, number] | null | undefined {
  const value = request.get("range");
  if (!value) return undefined;
  const ifRange = request.get("if-range");
  // RFC 9110 §13.1.5: only a strong match of the stored ETag keeps the range.
  if (ifRange !== undefined && (ifRange.startsWith("W/") || ifRange !== stored.get("etag"))) return undefined;
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return null;
    start = Math.max(0, length - suffix);
    end = length;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? length : Math.min(length, Number(match[2]) + 1);
    if (match[2] !== "" && Number(match[2]) < start) return undefined;
  }
  if (start >= length) return null;
  return [start, end];
}

/** The bytes [start, end) of a body that may still be growing. */
export async function* slice(chunks: AsyncIterable<Uint8Array>, start: number, end: number): AsyncGenerator<Uint8Array> {
  let at = 0;
  for await (const chunk of chunks) {
    const from = Math.max(start - at, 0);
    const to = Math.min(end - at, chunk.byteLength);
    if (to > from) yield from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to);
    at += chunk.byteLength;
    if (at >= end) return;
  }
}

/** The bytes [start, end) of a body held whole in memory. */
export function sliceChunks(chunks: readonly Uint8Array[], start: number, end: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const chunk of chunks) {
    const from = Math.max(start - at, 0);
    const to = Math.min(end - at, chunk.byteLength);
    if (to > from) out.push(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
    at += chunk.byteLength;
    if (at >= end) break;
  }
  return out;
}
