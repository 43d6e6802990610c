// The "kv" host service: the main-thread side of `fastly_kv_store` and
// `fastly_object_store` (runtime/hostcalls/kv-store.ts, object-store.ts). It
// reads and writes the KV database, takes the bodies guests write, and hands
// found values back inline (small) or as main-thread bodies (large).
import { Readable } from "node:stream";
import type { BodyPart } from "../engine/protocol.ts";
import type { KvDatabase } from "../stores/kv-database.ts";
import { KvError, kvErrorCode, MAX_VALUE_BYTES, type InsertMode } from "../stores/kv-limits.ts";
import type { KvInsertRequest, KvListRequest, KvListResult, KvLookupResult } from "../stores/kv-pending.ts";
import { assembleBody } from "./body-assembly.ts";
import type { CallContext, HostService } from "./host-services.ts";

/** Values up to this size cross to the worker with the answer; larger ones are read on demand. */
const INLINE_VALUE_BYTES = 64 * 1024;

export function kvService(kv: KvDatabase): HostService {
  return {
    /** True for a declared store, else the names of those that are. */
    open: (_context, name: string): true | string[] => (kv.hasStore(name) ? true : kv.storeNames()),

    lookup: (context, store: string, key: string): KvLookupResult => {
      const entry = kv.lookup(store, key);
      if (!entry) return { kvError: KvError.NOT_FOUND, value: null, metadata: null, generation: 0 };
      const { value } = entry;
      return {
        kvError: KvError.OK,
        value:
          value.byteLength <= INLINE_VALUE_BYTES
            ? value
            : context.bodies.register(Readable.from([Buffer.from(value.buffer, value.byteOffset, value.byteLength)], { objectMode: false }), {
                length: value.byteLength,
                owner: context.exchange.rid,
              }),
        metadata: entry.metadata,
        generation: entry.generation,
      };
    },

    insert: async (context, store: string, key: string, parts: BodyPart[], request: KvInsertRequest): Promise<KvError> => {
      // A write is a side effect, as an origin request is: the run can no longer be replayed elsewhere.
      context.exchange.sends++;
      const value = await collect(context, parts);
      if (value === null) return KvError.PAYLOAD_TOO_LARGE;
      const outcome = await kv.insert(store, key, value, {
        mode: request.mode as InsertMode,
        metadata: request.metadata,
        ttlSec: request.ttlSec,
        ifGenerationMatch: request.ifGenerationMatch,
      });
      return kvErrorCode(outcome);
    },

    delete: async (context, store: string, key: string): Promise<KvError> => {
      context.exchange.sends++;
      return kvErrorCode(await kv.delete(store, key));
    },

    list: (_context, store: string, request: KvListRequest): KvListResult => {
      const page = kv.list(store, request);
      if (page === "bad_request") return { kvError: KvError.BAD_REQUEST, body: null };
      // The JSON the platform answers and the SDKs parse: { data: [keys], meta: { limit, prefix?, next_cursor?, mode } }.
      const meta: Record<string, unknown> = { limit: page.limit };
      if (page.prefix !== null) meta.prefix = page.prefix;
      if (page.nextCursor !== null) meta.next_cursor = page.nextCursor;
      meta.mode = request.eventual ? "eventual" : "strong";
      return { kvError: KvError.OK, body: Buffer.from(JSON.stringify({ data: page.keys, meta })) };
    },
  };
}

/** The bytes of a body the guest wrote, or null when it is larger than a value may be. */
async function collect(context: CallContext, parts: BodyPart[]): Promise<Uint8Array | null> {
  const body = assembleBody({ parts, stream: 0 }, context.bodies, null);
  if (body.bytes) return body.bytes.byteLength > MAX_VALUE_BYTES ? null : body.bytes;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of body.chunks) {
      total += chunk.byteLength;
      if (total > MAX_VALUE_BYTES) return null;
      chunks.push(chunk);
    }
  } finally {
    body.release();
  }
  return Buffer.concat(chunks);
}
