// The no-code service answers a client's conditional and range requests from
// the cache, as a CDN does: the origin is asked for the whole response (so it
// can be stored), and the client gets 304, 412, 206 or 416 from it here.
import { Readable } from "node:stream";
import { CLIENT_CONDITION_FIELDS, notModified, preconditionFailed, requestedRange, slice, sliceChunks } from "../cache/client-conditions.ts";
import type { OriginResponse } from "../cache/readthrough.ts";
import { Headers } from "../session/headers.ts";

/**
 * Splits a GET or HEAD request's fields (flat, as received) into those sent
 * on to the cache and the client's own conditions, or null when it has none.
 */
export function takeClientConditions(raw: readonly string[]): { forwarded: string[]; conditions: Headers } | null {
  let conditions: Headers | null = null;
  const forwarded: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (CLIENT_CONDITION_FIELDS.has(name)) (conditions ??= new Headers()).append(name, raw[i + 1]);
    else forwarded.push(raw[i], raw[i + 1]);
  }
  return conditions ? { forwarded, conditions } : null;
}

/** Whether a field name (any case) may be one of the client's conditions; cheap enough for every field of a hit. */
export function mayBeClientCondition(name: string): boolean {
  const first = name.charCodeAt(0) | 0x20;
  return (first === 0x69 /* i */ || first === 0x72) /* r */ && CLIENT_CONDITION_FIELDS.has(name.toLowerCase());
}

/**
 * RFC 9110 §13.2.2: the response the client gets for its conditions, in the
 * order the RFC evaluates them. Only a 200 is answered this way; anything
 * else (and a range over a body of unknown length) goes out as it is.
 */
export function answerClientConditions(method: string, conditions: Headers, response: OriginResponse): OriginResponse {
  if (response.status !== 200) return response;
  const stored = Headers.fromFlat(response.headers);
  if (preconditionFailed(conditions, stored)) return withoutBody(response, 412);
  if (notModified(conditions, stored)) return withoutBody(response, 304);
  const length = response.chunks ? response.chunks.reduce((sum, c) => sum + c.byteLength, 0) : response.length;
  if (method !== "GET" || length < 0) return response;
  const range = requestedRange(conditions, stored, length);
  if (range === undefined) return response;
  if (range === null) {
    const answer = withoutBody(response, 416);
    answer.headers.push("content-range", `bytes */${length}`);
    return answer;
  }
  const [start, end] = range;
  const headers = response.headers.slice();
  headers.push("content-range", `bytes ${start}-${end - 1}/${length}`);
  const { chunks, body } = response;
  return {
    status: 206,
    headers,
    length: end - start,
    trailers: response.trailers,
    chunks: chunks ? sliceChunks(chunks, start, end) : undefined,
    body: body ? Readable.from(slice(body, start, end), { objectMode: false }) : null,
  };
}

/**
 * A 304, 412 or 416: the stored fields less those describing the body it does
 * not carry (RFC 9110 §15.4.5 lists what a 304 must keep: ETag, dates,
 * Cache-Control, Expires, Vary; none of them is a Content-* field).
 */
function withoutBody(response: OriginResponse, status: number): OriginResponse {
  response.body?.destroy();
  const headers: string[] = [];
  const fields = response.headers;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (!fields[i].toLowerCase().startsWith("content-")) headers.push(fields[i], fields[i + 1]);
  }
  return { status, headers, body: null, length: 0, trailers: () => [], chunks: [] };
}
