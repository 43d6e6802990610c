// The "httpCache" host service: the HTTP Cache API's calls from guests (see
// runtime/hostcalls/http-cache.ts), with the request's bodies and streams
// turned into what runtime/cache/http-cache-api.ts takes and gives.
import type { BodyFeed, HttpCacheApi } from "../cache/http-cache-api.ts";
import type { EntryView, Owner } from "../cache/http-cache-entry.ts";
import type { WriteOptions } from "../cache/http-cache-rules.ts";
import type { RemoteBodyInfo, RequestHead, ResponseHead } from "../engine/protocol.ts";
import { assembleBody } from "./body-assembly.ts";
import type { Exchange } from "./exchange.ts";
import type { CallContext, HostService } from "./host-services.ts";

export function httpCacheService(api: HttpCacheApi): HostService {
  const owners = new WeakMap<Exchange, { owner: Owner; cleanup: () => void }>();
  /** The calling request as the API's owner; what it leaves open is closed when its run ends (or is replayed). */
  const owner = ({ exchange }: CallContext): Owner => {
    let known = owners.get(exchange);
    if (!known) {
      const rid = exchange.rid;
      known = { owner: { rid, alive: () => !exchange.finished }, cleanup: () => api.endOwner(rid) };
      owners.set(exchange, known);
    }
    exchange.cleanups.add(known.cleanup);
    return known.owner;
  };
  /** The body the guest writes through stream `id`. */
  const feed = (context: CallContext, id: number): BodyFeed => {
    const body = assembleBody({ parts: [], stream: id }, context.bodies, context.sink(id));
    return { chunks: body.chunks, trailers: body.trailers };
  };

  return {
    suggestedKey: (_context, head: RequestHead) => api.suggestedKey(head),
    lookup: (context, head: RequestHead, overrideKey: Uint8Array | null, collapse: boolean): Promise<EntryView> =>
      api.lookup(owner(context), head, overrideKey, collapse),
    foundResponse: (context, id: number, transform: boolean): { head: ResponseHead; body: RemoteBodyInfo | null } => {
      const found = api.foundResponse(owner(context), id, transform);
      const body = found.body ? context.bodies.register(found.body, { length: found.length, owner: context.exchange.rid }) : null;
      return { head: found.head, body };
    },
    suggest: (context, id: number, response: ResponseHead) => api.suggest(owner(context), id, response),
    prepare: (context, id: number, response: ResponseHead) => api.prepare(owner(context), id, response),
    insert: (context, id: number, response: ResponseHead, options: WriteOptions, stream: number, streamBack: boolean) =>
      api.insert(owner(context), id, response, options, () => feed(context, stream), streamBack),
    update: (context, id: number, response: ResponseHead, options: WriteOptions, returnFresh: boolean) =>
      api.update(owner(context), id, response, options, returnFresh),
    chooseStale: (context, id: number) => api.chooseStale(owner(context), id),
    recordNotCacheable: (context, id: number, maxAgeNs: bigint) => api.recordNotCacheable(owner(context), id, maxAgeNs),
    abandon: (context, id: number) => api.abandon(owner(context), id),
    close: (context, id: number) => api.close(owner(context), id),
  };
}
