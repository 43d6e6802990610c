// Turns a body a guest sends (local chunks, main-thread bodies by id, and a
// stream it keeps writing) into one stream of bytes for a socket.
import type { BodySpec } from "../engine/protocol.ts";
import type { BodyRegistry, BodySource } from "./body-registry.ts";
import type { StreamSink } from "./stream-sink.ts";

export interface AssembledBody {
  /** The whole body when it is all at hand, else null. */
  bytes: Uint8Array | null;
  /** The body as a stream (also when `bytes` is set). */
  chunks: AsyncIterable<Uint8Array>;
  /** Total length when known. */
  length: number | null;
  /** Trailers to send after the body, once it has been read. */
  trailers: () => string[] | null;
  /** Lets go of every part not yet streamed (the receiver went away). */
  release(): void;
}

const EMPTY = new Uint8Array(0);

export function assembleBody(spec: BodySpec, bodies: BodyRegistry, sink: StreamSink | null): AssembledBody {
  // Take main-thread bodies now, so that nothing releases them while they wait their turn;
  // one whole in memory (a cache hit passed on unread) joins the local chunks.
  const parts: (Uint8Array | BodySource)[] = [];
  for (const part of spec.parts) {
    if (typeof part !== "number") {
      parts.push(part);
      continue;
    }
    const source = bodies.take(part);
    const whole = source.takeWhole();
    if (whole) parts.push(...whole);
    else parts.push(source);
  }
  let length: number | null = sink ? null : 0;
  for (const part of parts) {
    if (length === null) break;
    if (part instanceof Uint8Array) length += part.byteLength;
    else length = part.remaining >= 0 ? length + part.remaining : null;
  }
  const local = parts.every((part) => part instanceof Uint8Array) && !sink;
  const bytes = local ? (parts.length === 1 ? (parts[0] as Uint8Array) : parts.length === 0 ? EMPTY : Buffer.concat(parts as Uint8Array[])) : null;
  let released = false;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (bytes) {
      if (bytes.byteLength > 0) yield bytes;
      return;
    }
    for (const part of parts) {
      if (part instanceof Uint8Array) yield part;
      else yield* part.rest();
    }
    if (!sink) return;
    for await (const item of sink.items()) {
      if (typeof item !== "number") yield item;
      else yield* bodies.take(item).rest();
    }
  }

  let stream: AsyncGenerator<Uint8Array> | null = null;
  return {
    bytes,
    // Made on first use: a body written whole never needs it.
    get chunks() {
      return (stream ??= chunks());
    },
    length,
    trailers: () => sink?.trailers ?? null,
    release() {
      if (released) return;
      released = true;
      for (const part of parts) if (!(part instanceof Uint8Array)) part.release();
      sink?.discard();
    },
  };
}
