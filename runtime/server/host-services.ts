// Main-thread services that host calls reach through `s.link.invoke(rid,
// service, method, args)`: the cache, the stores, purging. Each service is a
// plain object of methods; each method gets the calling request's context
// first, then the guest's arguments (structured-cloneable values).
//
// This is the extension point for host calls that need main-thread state:
// add a service here rather than a new message type.
import type { BodyRegistry } from "./body-registry.ts";
import type { Exchange } from "./exchange.ts";
import type { StreamSink } from "./stream-sink.ts";

export interface CallContext {
  /** The request the guest runs for. */
  exchange: Exchange;
  /** Main-thread bodies, to hand the guest a body by id or take one it sends. */
  bodies: BodyRegistry;
  /** The main-thread end of a stream the guest writes (by the id it opened). */
  sink(id: number): StreamSink;
}

export type ServiceMethod = (context: CallContext, ...args: never[]) => unknown;
export type HostService = Record<string, ServiceMethod>;
export type HostServices = Record<string, HostService>;
