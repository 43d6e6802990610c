// `fastly_http_cache`: the HTTP Cache API. The guest looks a request up,
// sends the suggested request to its backend itself and inserts or updates
// the response; transactions live on the main thread ("httpCache" service,
// runtime/cache/http-cache-api.ts), in the same cache as the readthrough's
// objects. Each handle keeps the transaction's state as last reported, so
// the getters answer without a round trip.
import { HostError, Status } from "../abi/status.ts";
import type { Changed, EntryView, FoundInfo } from "../cache/http-cache-entry.ts";
import type { Suggestion } from "../cache/http-cache-rules.ts";
import type { RemoteBodyInfo, ResponseHead } from "../engine/protocol.ts";
import { Body } from "../session/body.ts";
import { HandleTable } from "../session/handle-table.ts";
import { Headers } from "../session/headers.ts";
import { RequestState, ResponseState, type Session } from "../session/session.ts";
import { utf8, writeValue } from "./abi-io.ts";
import { type HostModule, suspending } from "./host-module.ts";
import { readLookupOptions, readWriteOptions, WriteMask, writeSuggestion } from "./http-cache-options.ts";

/** A transaction the guest holds. */
class HttpCacheHandle {
  /** The main thread's last word on it. */
  view: EntryView;
  /** The request as it was looked up (later edits to it change nothing here). */
  readonly request: RequestState;

  constructor(view: EntryView, request: RequestState) {
    this.view = view;
    this.request = request;
  }
}

/** Each session's `$http_cache_handle`s: a table of their own (they are not async items). */
const tables = new WeakMap<Session, HandleTable<HttpCacheHandle>>();

function handles(s: Session): HandleTable<HttpCacheHandle> {
  let table = tables.get(s);
  if (!table) tables.set(s, (table = new HandleTable<HttpCacheHandle>("HTTP cache")));
  return table;
}

function call<T>(s: Session, method: string, ...args: unknown[]): Promise<T> {
  return s.link.invoke(s.rid, "httpCache", method, args) as Promise<T>;
}

function closeRemote(s: Session, id: number): void {
  s.link.invoke(s.rid, "httpCache", "close", [id]).catch(() => {}); // the request may have ended: nothing left to close
}

/** A copy of a request as it is now: the guest may change the original after looking it up. */
function snapshot(request: RequestState): RequestState {
  const copy = new RequestState();
  copy.method = request.method;
  copy.uri = request.uri;
  copy.version = request.version;
  copy.headers = request.headers.clone();
  copy.cacheOverride = request.cacheOverride;
  copy.manualFraming = request.manualFraming;
  copy.autoDecompressGzip = request.autoDecompressGzip;
  return copy;
}

/** Adds an item to a table and writes its handle; a bad pointer takes it out again. */
function give<T>(s: Session, table: HandleTable<T>, item: T, out: number): number {
  const handle = table.add(item);
  try {
    s.mem.u32(out, handle);
  } catch (error) {
    table.take(handle);
    throw error;
  }
  return handle;
}

/** A transaction the main thread opened for this guest. */
function open(s: Session, view: EntryView, request: RequestState, out: number): void {
  try {
    give(s, handles(s), new HttpCacheHandle(view, request), out);
  } catch (error) {
    closeRemote(s, view.id);
    throw error;
  }
}

function found(s: Session, h: number): FoundInfo {
  const { view } = handles(s).get(h);
  if (!view.found) throw new HostError(Status.NONE, "no response was found");
  return view.found;
}

function lookup(collapse: boolean) {
  return suspending((s: Session, req: number, mask: number, options: number, out: number) => {
    const request = snapshot(s.requests.get(req));
    const { overrideKey } = readLookupOptions(s, mask, options);
    return call<EntryView>(s, "lookup", request.head(), overrideKey, collapse).then((view) => {
      open(s, view, request, out);
      return Status.OK;
    });
  });
}

/** `transaction_insert` (`cacheOut` null) and `_and_stream_back`. */
function insert(s: Session, h: number, resp: number, mask: number, options: number, bodyOut: number, cacheOut: number | null) {
  const handle = handles(s).get(h);
  const response = s.responses.get(resp);
  const write = readWriteOptions(s.mem, mask, options);
  // The witx says the response is consumed: its status and headers go into the cache. The
  // handle stays valid all the same, as on the platform: js-compute (3.46) sets headers on
  // it after inserting.
  // The body handle is the write end of a stream the main thread copies into the cache.
  const stream = s.link.openStream();
  return call<Changed>(s, "insert", handle.view.id, response.head(), write, stream.id, cacheOut !== null).then(
    (changed) => {
      handle.view = changed.view;
      const body = new Body();
      body.stream = stream;
      give(s, s.asyncItems, body, bodyOut);
      if (changed.fresh && cacheOut !== null) open(s, changed.fresh, handle.request, cacheOut);
      return Status.OK;
    },
    (error: unknown) => {
      stream.finish(true);
      throw error;
    },
  );
}

/** `transaction_update` (`cacheOut` null) and `_and_return_fresh`. */
function update(s: Session, h: number, resp: number, mask: number, options: number, cacheOut: number | null) {
  const handle = handles(s).get(h);
  const response = s.responses.get(resp);
  const write = readWriteOptions(s.mem, mask, options);
  return call<Changed>(s, "update", handle.view.id, response.head(), write, cacheOut !== null).then((changed) => {
    handle.view = changed.view;
    if (changed.fresh && cacheOut !== null) open(s, changed.fresh, handle.request, cacheOut);
    return Status.OK;
  });
}

/** A call that settles the transaction's obligation one way or another. */
function settle(method: "abandon" | "chooseStale") {
  return suspending((s: Session, h: number) => {
    const handle = handles(s).get(h);
    return call<Changed>(s, method, handle.view.id).then((changed) => {
      handle.view = changed.view;
      return Status.OK;
    });
  });
}

/** The looked-up request made fit for the backend: unranged, with the stored response's validators instead of the client's. */
function backendRequest(handle: HttpCacheHandle): RequestState {
  const request = snapshot(handle.request);
  for (const name of ["range", "if-range", "if-none-match", "if-modified-since"]) request.headers.delete(name);
  for (const [name, value] of handle.view.validators) request.headers.set(name, value);
  return request;
}

function duration(pick: (info: FoundInfo) => bigint) {
  return (s: Session, h: number, out: number): number => {
    s.mem.u64(out, pick(found(s, h)));
    return Status.OK;
  };
}

export const fastlyHttpCache: HostModule = {
  is_request_cacheable(s, req, out) {
    const { method } = s.requests.get(req);
    s.mem.u32(out, method === "GET" || method === "HEAD" ? 1 : 0);
    return Status.OK;
  },

  get_suggested_cache_key: suspending((s: Session, req: number, buf: number, max: number, nOut: number) => {
    const request = s.requests.get(req);
    return call<Uint8Array>(s, "suggestedKey", request.head()).then((key) => writeValue(s.mem, buf, max, nOut, key));
  }),

  lookup: lookup(false),
  transaction_lookup: lookup(true),

  transaction_insert: suspending((s: Session, h: number, resp: number, mask: number, options: number, bodyOut: number) =>
    insert(s, h, resp, mask, options, bodyOut, null),
  ),
  transaction_insert_and_stream_back: suspending(
    (s: Session, h: number, resp: number, mask: number, options: number, bodyOut: number, cacheOut: number) =>
      insert(s, h, resp, mask, options, bodyOut, cacheOut),
  ),
  transaction_update: suspending((s: Session, h: number, resp: number, mask: number, options: number) =>
    update(s, h, resp, mask, options, null),
  ),
  transaction_update_and_return_fresh: suspending((s: Session, h: number, resp: number, mask: number, options: number, cacheOut: number) =>
    update(s, h, resp, mask, options, cacheOut),
  ),
  transaction_choose_stale: settle("chooseStale"),
  transaction_abandon: settle("abandon"),

  transaction_record_not_cacheable: suspending((s: Session, h: number, mask: number, options: number) => {
    const handle = handles(s).get(h);
    // Only the max age and the vary rule are read (witx); this host keeps hit-for-pass per URL.
    const write = readWriteOptions(s.mem, mask, options, "max-age-and-vary");
    return call<Changed>(s, "recordNotCacheable", handle.view.id, write.maxAgeNs).then((changed) => {
      handle.view = changed.view;
      return Status.OK;
    });
  }),

  close(s, h) {
    const handle = handles(s).take(h);
    closeRemote(s, handle.view.id);
    return Status.OK;
  },

  get_suggested_backend_request(s, h, out) {
    give(s, s.requests, backendRequest(handles(s).get(h)), out);
    return Status.OK;
  },

  get_suggested_cache_options: suspending(
    (s: Session, h: number, resp: number, requested: number, options: number, maskOut: number, optionsOut: number) => {
      const handle = handles(s).get(h);
      const response = s.responses.get(resp);
      if (requested & WriteMask.RESERVED) throw new HostError(Status.INVAL, "reserved HTTP cache write option");
      return call<Suggestion>(s, "suggest", handle.view.id, response.head()).then((suggestion) =>
        writeSuggestion(s.mem, requested, options, maskOut, optionsOut, suggestion),
      );
    },
  ),

  prepare_response_for_storage: suspending((s: Session, h: number, resp: number, actionOut: number, respOut: number) => {
    const handle = handles(s).get(h);
    const response = s.responses.get(resp);
    return call<{ action: number; head: ResponseHead }>(s, "prepare", handle.view.id, response.head()).then(({ action, head }) => {
      const prepared = new ResponseState();
      prepared.status = head.status;
      prepared.version = head.version;
      prepared.headers = Headers.fromFlat(head.headers);
      s.mem.u32(actionOut, action);
      give(s, s.responses, prepared, respOut);
      return Status.OK;
    });
  }),

  get_found_response: suspending((s: Session, h: number, transform: number, respOut: number, bodyOut: number) => {
    const handle = handles(s).get(h);
    if (!handle.view.servable) return Status.NONE;
    return call<{ head: ResponseHead; body: RemoteBodyInfo | null }>(s, "foundResponse", handle.view.id, transform !== 0).then(
      ({ head, body }) => {
        const [response, bodyHandle] = s.adoptResponse(head, body, null, 0);
        s.mem.u32(respOut, response);
        s.mem.u32(bodyOut, bodyHandle);
        return Status.OK;
      },
    );
  }),

  get_state(s, h, out) {
    s.mem.u32(out, handles(s).get(h).view.state);
    return Status.OK;
  },

  get_length(s, h, out) {
    const { length } = found(s, h);
    if (length === null) return Status.NONE;
    s.mem.u64(out, length);
    return Status.OK;
  },

  get_max_age_ns: duration((info) => info.maxAgeNs),
  get_stale_while_revalidate_ns: duration((info) => info.staleWhileRevalidateNs),
  get_stale_if_error_ns: duration((info) => info.staleIfErrorNs),
  get_age_ns: duration((info) => info.ageNs),
  get_hits: duration((info) => BigInt(info.hits)),

  get_sensitive_data(s, h, out) {
    s.mem.u32(out, found(s, h).sensitive ? 1 : 0);
    return Status.OK;
  },

  get_surrogate_keys(s, h, buf, max, nOut) {
    return writeValue(s.mem, buf, max, nOut, utf8(found(s, h).surrogateKeys));
  },

  get_vary_rule(s, h, buf, max, nOut) {
    return writeValue(s.mem, buf, max, nOut, utf8(found(s, h).varyRule));
  },
};
