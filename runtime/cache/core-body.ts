// The bodies of Core Cache API objects: which bytes `get_body` serves for a
// requested range, a stream over those bytes that follows a body still being
// written, and filling an object from what the guest writes.
import { Readable } from "node:stream";
import type { ByteRange } from "../session/cache-handles.ts";
import type { GrowingBody } from "./growing-body.ts";

/** The bytes to serve: all of them, [start, end) (end null: to the end), or the last `count`. */
export type RangePlan =
  | { kind: "whole" }
  | { kind: "span"; start: number; end: number | null }
  | { kind: "suffix"; count: number };

const WHOLE: RangePlan = { kind: "whole" };

/**
 * How the platform reads a range of a cached object (as Viceroy models it):
 * `from` and `to` are inclusive offsets; `to` alone asks for the last `to`
 * bytes. A range that does not fit a known length yields the whole body,
 * as an unsatisfiable Range does in HTTP. When the length is not known yet
 * (still streaming, none declared) the range is ignored unless the lookup
 * asked for `always_use_requested_range`.
 */
export function planRange(length: number | null, range: ByteRange, alwaysUseRequestedRange: boolean): RangePlan {
  const { from, to } = range;
  if (from === null && to === null) return WHOLE;
  if (length === null) {
    if (!alwaysUseRequestedRange) return WHOLE;
    if (from === null) return { kind: "suffix", count: to! };
    if (to !== null && to < from) return WHOLE;
    return { kind: "span", start: from, end: to === null ? null : to + 1 };
  }
  if (from === null) {
    if (to! < 1 || to! > length) return WHOLE;
    return { kind: "span", start: length - to!, end: length };
  }
  if (from >= length) return WHOLE;
  if (to !== null && (to < from || to >= length)) return WHOLE;
  return { kind: "span", start: from, end: to === null ? length : to + 1 };
}

/** A stream over the planned bytes of a body, and its length when known (else -1). */
export function readRange(body: GrowingBody, plan: RangePlan, length: number | null): { stream: Readable; length: number } {
  const source = body.readable();
  if (plan.kind === "whole") return { stream: source, length: length ?? -1 };
  if (plan.kind === "suffix") return { stream: Readable.from(suffix(source, plan.count), { objectMode: false }), length: -1 };
  const known = plan.end === null ? -1 : plan.end - plan.start;
  return { stream: Readable.from(span(source, plan.start, plan.end), { objectMode: false }), length: known };
}

async function* span(source: Readable, start: number, end: number | null): AsyncGenerator<Uint8Array> {
  let position = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      const from = Math.max(0, start - position);
      const to = end === null ? chunk.byteLength : Math.min(chunk.byteLength, end - position);
      if (to > from) yield chunk.subarray(from, to);
      position += chunk.byteLength;
      if (end !== null && position >= end) return;
    }
  } finally {
    source.destroy();
  }
}

/** The last `count` bytes, once the body is complete (all of it when shorter). */
async function* suffix(source: Readable, count: number): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  let skip = count > total ? 0 : total - count;
  for (const chunk of chunks) {
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength;
      continue;
    }
    yield chunk.subarray(skip);
    skip = 0;
  }
}

/**
 * Holds a body's bytes from the start for as long as a handle may read it,
 * even once the object has left the store. Null when that is no longer
 * possible (the body was released and trimmed already).
 */
export function pin(body: GrowingBody): Readable | null {
  try {
    return body.readable();
  } catch {
    return null;
  }
}
