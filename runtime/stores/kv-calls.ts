// The worker's side of KV operations, shared by `fastly_kv_store` and the
// deprecated `fastly_object_store` (runtime/hostcalls/kv-store.ts and
// object-store.ts): each starts a call to the main thread's "kv" service and
// returns the pending handle the guest waits on.
import { HostError, Status } from "../abi/status.ts";
import type { RemoteBodyInfo } from "../engine/protocol.ts";
import { Body } from "../session/body.ts";
import type { Session } from "../session/session.ts";
import { KvError, keyProblem, MAX_METADATA_BYTES, MAX_VALUE_BYTES } from "./kv-limits.ts";
import { type KvInsertRequest, type KvListRequest, type KvListResult, type KvLookupResult, KvPending, type KvPendingKind } from "./kv-pending.ts";

function invoke<T>(s: Session, method: string, ...args: unknown[]): Promise<T> {
  return s.link.invoke(s.rid, "kv", method, args) as Promise<T>;
}

/** Opens a store by name: its handle, or `inval` for a store the manifest does not declare. */
export async function openStore(s: Session, name: string): Promise<number> {
  const known = await invoke<true | string[]>(s, "open", name);
  if (known !== true) {
    s.link.log(s.rid, "stderr", `unknown KV store "${name}" (defined: ${known.join(", ") || "none"}; declare it under [local_server.kv_stores])`);
    throw new HostError(Status.INVAL, `unknown KV store ${name}`);
  }
  return s.kvStores.add(name);
}

/** A key argument: keys the platform refuses are `inval`, as the reference emulator answers. */
export function readKey(s: Session, ptr: number, len: number): string {
  const key = s.mem.string(ptr, len);
  const problem = keyProblem(key);
  if (problem) throw new HostError(Status.INVAL, `invalid KV key: ${problem}`);
  return key;
}

export function startLookup(s: Session, store: string, key: string): KvPending<"lookup"> {
  return new KvPending("lookup", invoke<KvLookupResult>(s, "lookup", store, key));
}

/** Consumes the body and starts writing it under `key`. */
export function startInsert(s: Session, store: string, key: string, bodyHandle: number, request: KvInsertRequest): KvPending<"insert"> {
  const body = s.bufferedBody(bodyHandle);
  s.asyncItems.take(bodyHandle);
  if (request.metadata && request.metadata.byteLength > MAX_METADATA_BYTES) return new KvPending("insert", KvError.BAD_REQUEST);
  const known = body.knownLength();
  if (known !== null && known > MAX_VALUE_BYTES) {
    const unread = body.remoteIds();
    if (unread.length > 0) s.link.release(s.rid, unread);
    return new KvPending("insert", KvError.PAYLOAD_TOO_LARGE);
  }
  const parts = body.pulling ? body.drain() : body.drainNow();
  return new KvPending("insert", Promise.resolve(parts).then((drained) => invoke<KvError>(s, "insert", store, key, drained, request)));
}

export function startDelete(s: Session, store: string, key: string): KvPending<"delete"> {
  return new KvPending("delete", invoke<KvError>(s, "delete", store, key));
}

export function startList(s: Session, store: string, request: KvListRequest): KvPending<"list"> {
  return new KvPending("list", invoke<KvListResult>(s, "list", store, request));
}

/** The pending operation of a handle, checked to be of the expected kind. */
export function pendingOf<K extends KvPendingKind>(s: Session, handle: number, kind: K): KvPending<K> {
  const item = s.asyncItems.get(handle);
  if (!(item instanceof KvPending) || item.kind !== kind) throw new HostError(Status.BADF, `handle ${handle} is not a pending KV ${kind}`);
  return item as KvPending<K>;
}

/** Runs `finish` once the operation has settled: at once when it has. */
export function whenSettled(pending: KvPending, finish: () => number): number | Promise<number> {
  return pending.done ? finish() : pending.promise.then(finish);
}

/** A found value as a body handle of the guest's. */
export function valueBody(s: Session, value: Uint8Array | RemoteBodyInfo): number {
  if (value instanceof Uint8Array) {
    const body = new Body();
    body.write(value, false);
    return s.asyncItems.add(body);
  }
  return s.asyncItems.add(Body.fromRemote(value));
}
