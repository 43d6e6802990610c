// The "coreCache" host service: the main-thread side of `fastly_cache`
// (runtime/hostcalls/cache.ts). It ties the Core Cache API's handles to the
// request that opened them, hands found bodies to the guest through the body
// registry, and fills inserted objects from the streams the guest writes.
import { HostError, Status } from "../abi/status.ts";
import type { CoreCache } from "../cache/core-cache.ts";
import type { RemoteBodyInfo } from "../engine/protocol.ts";
import type { CoreDetails, CoreLookup, CoreReplace, CoreWriteOptions } from "../session/cache-handles.ts";
import { assembleBody } from "./body-assembly.ts";
import type { Exchange } from "./exchange.ts";
import type { CallContext, HostService } from "./host-services.ts";

export function coreCacheService(core: CoreCache): HostService {
  const cleanups = new WeakMap<Exchange, () => void>();
  /** Transactional lookups that had to wait, by request and token, until `awaitLookup` takes them. */
  const waiting = new Map<number, Map<string, Promise<number>>>();

  /** The request a call belongs to; whatever it leaves open is let go when its run ends. */
  const owner = (context: CallContext): number => {
    const { exchange } = context;
    let cleanup = cleanups.get(exchange);
    if (!cleanup) {
      cleanup = () => {
        waiting.delete(exchange.rid);
        core.endOwner(exchange.rid);
      };
      cleanups.set(exchange, cleanup);
    }
    exchange.cleanups.add(cleanup);
    return exchange.rid;
  };

  /** The bytes the guest writes to stream `id` (and bodies it appends by id). */
  const written = (context: CallContext, stream: number) =>
    assembleBody({ parts: [], stream }, context.bodies, context.sink(stream)).chunks;

  return {
    lookup: (context, request: CoreLookup): number => core.lookup(owner(context), request),

    transactionLookup: (context, request: CoreLookup): number | Promise<number> => core.transactionLookup(owner(context), request, null),

    /** The entry when the lookup completes at once; else null, and `awaitLookup(token)` waits for it. */
    transactionLookupAsync: (context, request: CoreLookup, token: string): number | null => {
      const rid = owner(context);
      const outcome = core.transactionLookup(rid, request, token);
      if (typeof outcome === "number") return outcome;
      outcome.catch(() => {}); // whoever awaits it sees the failure
      let mine = waiting.get(rid);
      if (!mine) waiting.set(rid, (mine = new Map()));
      mine.set(token, outcome);
      return null;
    },

    awaitLookup: (context, token: string): Promise<number> => {
      const mine = waiting.get(owner(context));
      const lookup = mine?.get(token);
      if (!lookup) throw new HostError(Status.BADF, "no such pending lookup");
      mine!.delete(token);
      return lookup;
    },

    cancelLookup: (context, token: string): void => core.cancelLookup(owner(context), token),

    insert: (context, key: string, options: CoreWriteOptions, stream: number): void => {
      owner(context);
      void core.fill(core.insert(options, key), written(context, stream));
    },

    transactionInsert: (context, id: number, options: CoreWriteOptions, stream: number, streamBack: boolean): number | null => {
      const { object, entry } = core.transactionInsert(owner(context), id, options, streamBack);
      void core.fill(object, written(context, stream));
      return entry;
    },

    transactionUpdate: (context, id: number, options: CoreWriteOptions): void => core.transactionUpdate(owner(context), id, options),

    transactionCancel: (context, id: number): void => core.transactionCancel(owner(context), id),

    replace: (context, request: CoreReplace): number | Promise<number> => core.replace(owner(context), request),

    replaceInsert: (context, id: number, options: CoreWriteOptions, stream: number): void => {
      void core.fill(core.replaceInsert(owner(context), id, options), written(context, stream));
    },

    close: (context, id: number): void => core.close(owner(context), id),

    details: (context, id: number): CoreDetails => core.details(owner(context), id),

    body: (context, id: number, from: number | null, to: number | null): RemoteBodyInfo | null => {
      const rid = owner(context);
      const found = core.body(rid, id, { from, to });
      if (!found) return null;
      return context.bodies.register(found.stream, { length: found.length, owner: rid });
    },
  };
}
