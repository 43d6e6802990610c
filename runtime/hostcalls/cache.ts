// `fastly_cache`: the Core Cache API. Lookups, request-collapsing
// transactions, inserts, updates and replaces; the cache itself lives on the
// main thread (runtime/cache/core-cache.ts, reached through the "coreCache"
// service). Bodies written into the cache are streams to the main thread;
// bodies read from it are main-thread bodies, read on demand.
import { HostError, INVALID_HANDLE, Status } from "../abi/status.ts";
import { Body } from "../session/body.ts";
import { CacheBusyHandle, type CoreDetails, CacheHandle } from "../session/cache-handles.ts";
import type { RemoteBodyInfo } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { writeValue } from "./abi-io.ts";
import { bodyRange, cacheKey, lookupOptions, replaceOptions, writeOptions } from "./cache-options.ts";
import { type HostModule, suspending } from "./host-module.ts";

const invoke = (s: Session, method: string, ...args: unknown[]) => s.link.invoke(s.rid, "coreCache", method, args);

/** Names a pending lookup to the main thread (unique within this worker, hence within the request). */
let nextToken = 1;

function cacheHandle(s: Session, h: number, replace: boolean): CacheHandle {
  const item = s.asyncItems.get(h);
  if (!(item instanceof CacheHandle) || item.replace !== replace) {
    throw new HostError(Status.BADF, `handle ${h >>> 0} is not a cache ${replace ? "replace " : ""}handle`);
  }
  return item;
}

function busyHandle(s: Session, h: number): CacheBusyHandle {
  const item = s.asyncItems.get(h);
  if (!(item instanceof CacheBusyHandle)) throw new HostError(Status.BADF, `handle ${h >>> 0} is not a cache busy handle`);
  return item;
}

/** Gives the guest a handle for a main-thread lookup. */
function adopt(s: Session, id: number, replace: boolean, out: number): number {
  s.mem.u32(out, s.asyncItems.add(new CacheHandle(id, replace)));
  return Status.OK;
}

/** Starts a write into the cache: `start` tells the main thread, the guest gets the write end of the body. */
function streamingWrite<T>(s: Session, bodyOut: number, start: (stream: number) => Promise<T>, then?: (result: T) => void): Promise<number> {
  s.mem.u32(bodyOut, INVALID_HANDLE); // check the out-pointer before anything starts
  const writer = s.link.openStream();
  return start(writer.id).then(
    (result) => {
      const body = new Body();
      body.stream = writer;
      s.mem.u32(bodyOut, s.asyncItems.add(body));
      then?.(result);
      return Status.OK;
    },
    (error: unknown) => {
      writer.finish(true);
      throw error;
    },
  );
}

const details = (s: Session, handle: CacheHandle) => invoke(s, "details", handle.id) as Promise<CoreDetails>;

/** A u64 getter of the found (or existing) object: `none` when there is none, or no value. */
function getter(replace: boolean, pick: (d: CoreDetails) => bigint | number | null) {
  return suspending((s: Session, h: number, out: number) => {
    const handle = cacheHandle(s, h, replace);
    return details(s, handle).then((d) => {
      const value = d.found ? pick(d) : null;
      if (value === null) return Status.NONE;
      s.mem.u64(out, value);
      return Status.OK;
    });
  });
}

function userMetadata(replace: boolean) {
  return suspending((s: Session, h: number, buf: number, max: number, nOut: number) => {
    const handle = cacheHandle(s, h, replace);
    return details(s, handle).then((d) => (d.found ? writeValue(s.mem, buf, max, nOut, d.userMetadata) : Status.NONE));
  });
}

/** The found object's body (a range of it); one may be open at a time per handle. */
function getBody(replace: boolean) {
  return suspending((s: Session, h: number, mask: number, optionsPtr: number, bodyOut: number) => {
    const handle = cacheHandle(s, h, replace);
    const range = bodyRange(s, mask, optionsPtr);
    if (handle.body !== null && s.asyncItems.find(handle.body)) {
      throw new HostError(Status.BADF, "the body from the last get_body is still open");
    }
    s.mem.u32(bodyOut, INVALID_HANDLE);
    return (invoke(s, "body", handle.id, range.from, range.to) as Promise<RemoteBodyInfo | null>).then((info) => {
      if (!info) return Status.NONE;
      handle.body = s.asyncItems.add(Body.fromRemote(info));
      s.mem.u32(bodyOut, handle.body);
      return Status.OK;
    });
  });
}

export const fastlyCache: HostModule = {
  lookup: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, optionsPtr: number, out: number) => {
    const key = cacheKey(s, keyPtr, keyLen);
    const options = lookupOptions(s, mask, optionsPtr);
    s.mem.u32(out, INVALID_HANDLE);
    return invoke(s, "lookup", { key, ...options }).then((id) => adopt(s, id as number, false, out));
  }),

  insert: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, optionsPtr: number, bodyOut: number) => {
    const key = cacheKey(s, keyPtr, keyLen);
    const options = writeOptions(s, mask, optionsPtr, true);
    return streamingWrite(s, bodyOut, (stream) => invoke(s, "insert", key, options, stream));
  }),

  transaction_lookup: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, optionsPtr: number, out: number) => {
    const key = cacheKey(s, keyPtr, keyLen);
    const options = lookupOptions(s, mask, optionsPtr);
    s.mem.u32(out, INVALID_HANDLE);
    return invoke(s, "transactionLookup", { key, ...options }).then((id) => adopt(s, id as number, false, out));
  }),

  /** Completes at once when the lookup need not wait; else the busy handle becomes ready when it may go on. */
  transaction_lookup_async: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, optionsPtr: number, out: number) => {
    const key = cacheKey(s, keyPtr, keyLen);
    const options = lookupOptions(s, mask, optionsPtr);
    s.mem.u32(out, INVALID_HANDLE);
    const token = `busy-${nextToken++}`;
    return invoke(s, "transactionLookupAsync", { key, ...options }, token).then((entry) => {
      const waiting = entry === null ? invoke(s, "awaitLookup", token) : null;
      s.mem.u32(out, s.asyncItems.add(new CacheBusyHandle(token, entry as number | null, waiting)));
      return Status.OK;
    });
  }),

  cache_busy_handle_wait: suspending((s: Session, h: number, out: number) => {
    const busy = busyHandle(s, h);
    if (busy.claimed) throw new HostError(Status.BADF, "this busy handle has been waited on already");
    s.mem.u32(out, INVALID_HANDLE);
    const finish = (): number => {
      if (busy.error) return busy.error.status;
      busy.claimed = true;
      return adopt(s, busy.entry!, false, out);
    };
    return busy.done ? finish() : busy.promise.then(finish);
  }),

  close_busy(s, h) {
    const busy = busyHandle(s, h);
    s.asyncItems.take(h);
    if (busy.claimed) return Status.OK;
    // Whatever the lookup ends with (an obligation, say) is let go.
    const release = () => {
      if (busy.entry !== null) invoke(s, "close", busy.entry).catch(() => {});
    };
    if (busy.done) release();
    else {
      invoke(s, "cancelLookup", busy.token).catch(() => {});
      void busy.promise.then(release);
    }
    return Status.OK;
  },

  transaction_insert: suspending((s: Session, h: number, mask: number, optionsPtr: number, bodyOut: number) => {
    const handle = cacheHandle(s, h, false);
    const options = writeOptions(s, mask, optionsPtr, false);
    return streamingWrite(s, bodyOut, (stream) => invoke(s, "transactionInsert", handle.id, options, stream, false));
  }),

  transaction_insert_and_stream_back: suspending((s: Session, h: number, mask: number, optionsPtr: number, bodyOut: number, cacheOut: number) => {
    const handle = cacheHandle(s, h, false);
    const options = writeOptions(s, mask, optionsPtr, false);
    s.mem.u32(cacheOut, INVALID_HANDLE);
    return streamingWrite(
      s,
      bodyOut,
      (stream) => invoke(s, "transactionInsert", handle.id, options, stream, true),
      (entry) => adopt(s, entry as number, false, cacheOut),
    );
  }),

  transaction_update: suspending((s: Session, h: number, mask: number, optionsPtr: number) => {
    const handle = cacheHandle(s, h, false);
    const options = writeOptions(s, mask, optionsPtr, false);
    return invoke(s, "transactionUpdate", handle.id, options).then(() => Status.OK);
  }),

  transaction_cancel: suspending((s: Session, h: number) => {
    const handle = cacheHandle(s, h, false);
    return invoke(s, "transactionCancel", handle.id).then(() => Status.OK);
  }),

  /** Closes a cache handle, or a replace handle the guest gives up on. */
  close: suspending((s: Session, h: number) => {
    const item = s.asyncItems.get(h);
    if (!(item instanceof CacheHandle)) throw new HostError(Status.BADF, `handle ${h >>> 0} is not a cache handle`);
    s.asyncItems.take(h);
    return invoke(s, "close", item.id).then(() => Status.OK);
  }),

  get_state: suspending((s: Session, h: number, out: number) => {
    const handle = cacheHandle(s, h, false);
    return details(s, handle).then((d) => {
      s.mem.u32(out, d.state);
      return Status.OK;
    });
  }),

  get_user_metadata: userMetadata(false),
  get_body: getBody(false),
  get_length: getter(false, (d) => d.length),
  get_max_age_ns: getter(false, (d) => d.maxAgeNs),
  get_stale_while_revalidate_ns: getter(false, (d) => d.staleWhileRevalidateNs),
  get_age_ns: getter(false, (d) => d.ageNs),
  get_hits: getter(false, (d) => d.hits),

  replace: suspending((s: Session, keyPtr: number, keyLen: number, mask: number, optionsPtr: number, out: number) => {
    const key = cacheKey(s, keyPtr, keyLen);
    const options = replaceOptions(s, mask, optionsPtr);
    s.mem.u32(out, INVALID_HANDLE);
    return invoke(s, "replace", { key, ...options }).then((id) => adopt(s, id as number, true, out));
  }),

  /** Provides the replacement; the replace handle is used up. */
  replace_insert: suspending((s: Session, h: number, mask: number, optionsPtr: number, bodyOut: number) => {
    const handle = cacheHandle(s, h, true);
    const options = writeOptions(s, mask, optionsPtr, true);
    return streamingWrite(
      s,
      bodyOut,
      (stream) => invoke(s, "replaceInsert", handle.id, options, stream),
      () => s.asyncItems.take(h),
    );
  }),

  /** Always answers a state (SDKs read it right after `replace`): `must_insert_or_update`, with the existing object's flags. */
  replace_get_state: suspending((s: Session, h: number, out: number) => {
    const handle = cacheHandle(s, h, true);
    return details(s, handle).then((d) => {
      s.mem.u32(out, d.state);
      return Status.OK;
    });
  }),

  replace_get_user_metadata: userMetadata(true),
  replace_get_body: getBody(true),
  replace_get_length: getter(true, (d) => d.length),
  replace_get_max_age_ns: getter(true, (d) => d.maxAgeNs),
  replace_get_stale_while_revalidate_ns: getter(true, (d) => d.staleWhileRevalidateNs),
  replace_get_age_ns: getter(true, (d) => d.ageNs),
  replace_get_hits: getter(true, (d) => d.hits),
};
