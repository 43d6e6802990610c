// `fastly_object_store`: the deprecated first KV API, on the same stores as
// `fastly_kv_store`. Outcomes are statuses here: a missing key is an OK
// lookup with no body (`none` for a delete), any other failure `inval`, as in
// the reference emulator.
import { HostError, INVALID_HANDLE, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { pendingOf, readKey, startDelete, startInsert, startLookup, valueBody, whenSettled } from "../stores/kv-calls.ts";
import { KvError, InsertMode } from "../stores/kv-limits.ts";
import type { KvPending } from "../stores/kv-pending.ts";
import { type HostModule, suspending } from "./host-module.ts";
import { fastlyKvStore } from "./kv-store.ts";

const OVERWRITE = { mode: InsertMode.OVERWRITE, metadata: null, ttlSec: null, ifGenerationMatch: null };

function failed(kvError: number, what: string): never {
  throw new HostError(Status.INVAL, `KV ${what} failed (kv_error ${kvError})`);
}

/** Hands a finished lookup's value to the guest; a missing key leaves no body. */
function deliverLookup(s: Session, pending: KvPending<"lookup">, bodyOut: number): number {
  const result = pending.outcome();
  s.mem.u32(bodyOut, INVALID_HANDLE);
  if (result.kvError === KvError.NOT_FOUND) return Status.OK;
  if (result.kvError !== KvError.OK || result.value === null) failed(result.kvError, "lookup");
  s.mem.u32(bodyOut, valueBody(s, result.value));
  return Status.OK;
}

function insertOutcome(pending: KvPending<"insert">): number {
  const kvError = pending.outcome();
  if (kvError !== KvError.OK) failed(kvError, "insert");
  return Status.OK;
}

export const fastlyObjectStore: HostModule = {
  // The same stores, opened the same way.
  open: fastlyKvStore.open,

  lookup: suspending((s: Session, store: number, keyPtr: number, keyLen: number, bodyOut: number) => {
    const pending = startLookup(s, s.kvStores.get(store), readKey(s, keyPtr, keyLen));
    s.mem.u32(bodyOut, INVALID_HANDLE);
    return pending.promise.then(() => deliverLookup(s, pending, bodyOut));
  }),

  lookup_async(s, store, keyPtr, keyLen, out) {
    const pending = startLookup(s, s.kvStores.get(store), readKey(s, keyPtr, keyLen));
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(pending));
    return Status.OK;
  },

  pending_lookup_wait: suspending((s: Session, h: number, bodyOut: number) => {
    const pending = pendingOf(s, h, "lookup");
    return whenSettled(pending, () => {
      s.asyncItems.take(h);
      return deliverLookup(s, pending, bodyOut);
    });
  }),

  insert: suspending((s: Session, store: number, keyPtr: number, keyLen: number, body: number) => {
    const name = s.kvStores.get(store);
    const key = readKey(s, keyPtr, keyLen);
    const pending = startInsert(s, name, key, body, OVERWRITE);
    return pending.promise.then(() => insertOutcome(pending));
  }),

  insert_async(s, store, keyPtr, keyLen, body, out) {
    const name = s.kvStores.get(store);
    const key = readKey(s, keyPtr, keyLen);
    s.bufferedBody(body);
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(startInsert(s, name, key, body, OVERWRITE)));
    return Status.OK;
  },

  pending_insert_wait: suspending((s: Session, h: number) => {
    const pending = pendingOf(s, h, "insert");
    return whenSettled(pending, () => {
      s.asyncItems.take(h);
      return insertOutcome(pending);
    });
  }),

  delete_async(s, store, keyPtr, keyLen, out) {
    const pending = startDelete(s, s.kvStores.get(store), readKey(s, keyPtr, keyLen));
    s.mem.u32(out, INVALID_HANDLE);
    s.mem.u32(out, s.asyncItems.add(pending));
    return Status.OK;
  },

  pending_delete_wait: suspending((s: Session, h: number) => {
    const pending = pendingOf(s, h, "delete");
    return whenSettled(pending, () => {
      s.asyncItems.take(h);
      const kvError = pending.outcome();
      if (kvError === KvError.NOT_FOUND) return Status.NONE;
      if (kvError !== KvError.OK) failed(kvError, "delete");
      return Status.OK;
    });
  }),
};
