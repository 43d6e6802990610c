// `fastly_kv_store`: KV stores, whose data lives on the main thread
// (runtime/stores/kv-database.ts). Each operation returns a pending handle at
// once; its `*_wait` call gives the outcome as a `$kv_error` beside an OK
// status (the status is not OK only when the call itself is wrong: a bad
// handle, pointer or key).
import { HostError, INVALID_HANDLE, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { openStore, pendingOf, readKey, startDelete, startInsert, startList, startLookup, valueBody, whenSettled } from "../stores/kv-calls.ts";
import { KvError } from "../stores/kv-limits.ts";
import type { KvInsertRequest } from "../stores/kv-pending.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** `$kv_insert_config_options`. */
const Insert = { RESERVED: 1 << 0, BACKGROUND_FETCH: 1 << 1, RESERVED_2: 1 << 2, METADATA: 1 << 3, TTL: 1 << 4, IF_GENERATION_MATCH: 1 << 5 };
const INSERT_KNOWN = Insert.BACKGROUND_FETCH | Insert.METADATA | Insert.TTL | Insert.IF_GENERATION_MATCH;
/** `$kv_list_config_options`. */
const List = { RESERVED: 1 << 0, CURSOR: 1 << 1, LIMIT: 1 << 2, PREFIX: 1 << 3 };
const LIST_KNOWN = List.CURSOR | List.LIMIT | List.PREFIX;
/** `$kv_list_mode`: strong or eventual; both read the same local data. */
const LIST_MODES = 2;
const INSERT_MODES = 4;

/** `$kv_lookup_config` and `$kv_delete_config` define only a reserved bit. */
function noOptions(mask: number, what: string): void {
  if (mask !== 0) throw new HostError(Status.INVAL, `unknown ${what} options 0x${(mask >>> 0).toString(16)}`);
}

/** Reads `$kv_insert_config` (32 bytes). The record is read even when the mask is empty, as the reference emulator does. */
function insertConfig(s: Session, mask: number, ptr: number): KvInsertRequest {
  if (mask & ~INSERT_KNOWN) throw new HostError(Status.INVAL, `unknown insert options 0x${(mask >>> 0).toString(16)}`);
  const mode = s.mem.readU32(ptr);
  if (mode >= INSERT_MODES) throw new HostError(Status.INVAL, `unknown insert mode ${mode}`);
  const metadata = mask & Insert.METADATA ? s.mem.copy(s.mem.readU32(ptr + 8), s.mem.readU32(ptr + 12)) : null;
  return {
    mode,
    metadata,
    ttlSec: mask & Insert.TTL ? s.mem.readU32(ptr + 16) : null,
    ifGenerationMatch: mask & Insert.IF_GENERATION_MATCH ? s.mem.readU64(ptr + 24) : null,
  };
}

/** An optional string of `$kv_list_config`: empty counts as absent. */
function listString(s: Session, given: boolean, ptr: number, len: number): string | null {
  if (!given || len === 0) return null;
  return s.mem.string(s.mem.readU32(ptr), len);
}

function lookupWait(generationBytes: 4 | 8) {
  return suspending((s: Session, h: number, bodyOut: number, metaBuf: number, metaLen: number, nwrittenOut: number, generationOut: number, errorOut: number) => {
    const pending = pendingOf(s, h, "lookup");
    return whenSettled(pending, () => {
      const result = pending.outcome();
      const generation = generationBytes === 8 ? BigInt(result.generation) : 0; // v1: always 0, as the witx says
      const writeGeneration = () => (generationBytes === 8 ? s.mem.u64(generationOut, generation) : s.mem.u32(generationOut, 0));
      if (result.kvError !== KvError.OK || result.value === null) {
        s.mem.u32(bodyOut, INVALID_HANDLE);
        s.mem.u32(nwrittenOut, 0);
        writeGeneration();
        s.mem.u32(errorOut, result.kvError);
        s.asyncItems.take(h);
        return Status.OK;
      }
      const metadata = result.metadata ?? new Uint8Array(0);
      if (metadata.byteLength > metaLen >>> 0) {
        // The handle stays pending: the guest may ask again with a buffer that fits.
        s.mem.u32(nwrittenOut, metadata.byteLength);
        return Status.BUFLEN;
      }
      s.mem.write(metaBuf, metadata);
      s.mem.u32(nwrittenOut, metadata.byteLength);
      writeGeneration();
      s.mem.u32(errorOut, KvError.OK);
      s.mem.u32(bodyOut, INVALID_HANDLE); // checks the pointer before the body is handed out
      s.asyncItems.take(h);
      s.mem.u32(bodyOut, valueBody(s, result.value));
      return Status.OK;
    });
  });
}

export const fastlyKvStore: HostModule = {
  open: suspending((s: Session, namePtr: number, nameLen: number, out: number) => {
    const name = s.mem.string(namePtr, nameLen);
    s.mem.u32(out, INVALID_HANDLE);
    return openStore(s, name).then((handle) => {
      s.mem.u32(out, handle);
      return Status.OK;
    });
  }),

  lookup(s, store, keyPtr, keyLen, mask, _config, out) {
    const name = s.kvStores.get(store);
    const key = readKey(s, keyPtr, keyLen);
    noOptions(mask, "lookup");
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(startLookup(s, name, key)));
    return Status.OK;
  },

  lookup_wait: lookupWait(4),
  lookup_wait_v2: lookupWait(8),

  insert(s, store, keyPtr, keyLen, body, mask, config, out) {
    const name = s.kvStores.get(store);
    const key = readKey(s, keyPtr, keyLen);
    const request = insertConfig(s, mask, config);
    s.bufferedBody(body);
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(startInsert(s, name, key, body, request)));
    return Status.OK;
  },

  insert_wait: suspending((s: Session, h: number, errorOut: number) => {
    const pending = pendingOf(s, h, "insert");
    return whenSettled(pending, () => {
      const kvError = pending.outcome();
      s.mem.u32(errorOut, kvError);
      s.asyncItems.take(h);
      return Status.OK;
    });
  }),

  delete(s, store, keyPtr, keyLen, mask, _config, out) {
    const name = s.kvStores.get(store);
    const key = readKey(s, keyPtr, keyLen);
    noOptions(mask, "delete");
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(startDelete(s, name, key)));
    return Status.OK;
  },

  delete_wait: suspending((s: Session, h: number, errorOut: number) => {
    const pending = pendingOf(s, h, "delete");
    return whenSettled(pending, () => {
      s.mem.u32(errorOut, pending.outcome());
      s.asyncItems.take(h);
      return Status.OK;
    });
  }),

  list(s, store, mask, config, out) {
    const name = s.kvStores.get(store);
    if (mask & ~LIST_KNOWN) throw new HostError(Status.INVAL, `unknown list options 0x${(mask >>> 0).toString(16)}`);
    const mode = s.mem.readU32(config);
    if (mode >= LIST_MODES) throw new HostError(Status.INVAL, `unknown list mode ${mode}`);
    const cursor = listString(s, (mask & List.CURSOR) !== 0, config + 4, s.mem.readU32(config + 8));
    const limit = mask & List.LIMIT ? s.mem.readU32(config + 12) : null;
    const prefix = listString(s, (mask & List.PREFIX) !== 0, config + 16, s.mem.readU32(config + 20));
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(startList(s, name, { cursor, limit, prefix, eventual: mode === 1 })));
    return Status.OK;
  },

  list_wait: suspending((s: Session, h: number, bodyOut: number, errorOut: number) => {
    const pending = pendingOf(s, h, "list");
    return whenSettled(pending, () => {
      const result = pending.outcome();
      s.mem.u32(bodyOut, INVALID_HANDLE);
      s.mem.u32(errorOut, result.kvError);
      s.asyncItems.take(h);
      if (result.body) s.mem.u32(bodyOut, valueBody(s, result.body));
      return Status.OK;
    });
  }),
};
