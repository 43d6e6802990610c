// The main thread's side of running guests: takes client requests, hands
// each to a worker, and serves what the workers ask for — origin fetches,
// body reads, the response to write, streams — while enforcing wall-time
// limits and recovering when a worker has to be stopped.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { HttpVersion } from "../abi/constants.ts";
import { HostError, SendError, Status } from "../abi/status.ts";
import type { Backends } from "../backends/backend.ts";
import type { DynamicBackends } from "../backends/dynamic.ts";
import { gunzipped, sendUpstream } from "../backends/upstream.ts";
import { cacheOverride } from "../cache/override.ts";
import type { Origin, OriginResponse, Readthrough } from "../cache/readthrough.ts";
import type { LoadedModule } from "../engine/module-loader.ts";
import type {
  BodySpec,
  GuestLimits,
  GuestOutcome,
  RemoteError,
  ResponseHead,
  SendResult,
  ServiceInfo,
  WorkerToMain,
} from "../engine/protocol.ts";
import { type GuestWorker, WorkerPool } from "../engine/worker-pool.ts";
import type { UnknownImportPolicy } from "../engine/linker.ts";
import { assembleBody } from "./body-assembly.ts";
import { BodyRegistry } from "./body-registry.ts";
import { Exchange } from "./exchange.ts";
import type { Logger } from "./logger.ts";
import { EMPTY_SERVICE_DATA, type ServiceData } from "../stores/service-data.ts";
import type { CallContext, HostServices } from "./host-services.ts";
import { writeResponse } from "./response-writer.ts";
import { StreamSink } from "./stream-sink.ts";

export interface GuestRuntimeOptions {
  module: LoadedModule;
  backends: Backends;
  /** Backends guests register at run time (`register_dynamic_backend`). */
  dynamicBackends?: DynamicBackends;
  /** The readthrough cache every backend send goes through. */
  cache: Readthrough;
  /** Main-thread services host calls can invoke. */
  services?: HostServices;
  /** Store data guests read in place. */
  data?: ServiceData;
  limits: GuestLimits;
  env: Record<string, string>;
  logger: Logger;
  /** Worker threads (default: one per core). */
  workers?: number;
  unknownImports: UnknownImportPolicy;
  /** Take the client address from an X-Outpost-Client-IP header (local testing only). */
  clientIpHeader?: boolean;
}

/** After a wall-time abort, how long the guest gets to wind down before its client is answered anyway. */
const ABORT_GRACE_MS = 1_000;

type CallMessage = Extract<WorkerToMain, { t: "call" }>;

export class GuestRuntime {
  private readonly pool: WorkerPool;
  private readonly bodies = new BodyRegistry();
  private readonly exchanges = new Map<number, Exchange>();
  private readonly sinks = new WeakMap<GuestWorker, Map<number, StreamSink>>();
  private readonly options: GuestRuntimeOptions;
  private readonly cache: Readthrough;
  private moduleId: string;
  private nextRid = 1;
  /** Reusable sandboxes waiting for a request (`next_request`), the most recent last. */
  private parked: { sandbox: number; worker: GuestWorker; moduleId: string }[] = [];

  constructor(options: GuestRuntimeOptions) {
    this.options = options;
    this.cache = options.cache;
    this.pool = new WorkerPool(options.workers, options.unknownImports, {
      message: (worker, message) => this.onMessage(worker, message),
      lost: (worker, culprit, reason) => this.onWorkerLost(worker, culprit, reason),
    });
    this.moduleId = options.module.id;
    this.service = {
      env: options.env,
      data: options.data ?? EMPTY_SERVICE_DATA,
      backends: options.backends.summaries(),
      limits: options.limits,
    };
    this.pool.load(this.moduleId, options.module.module, this.service, options.module.memory);
  }

  /** What guests may know of their service (environment, backends, limits, store data). */
  private service: ServiceInfo;

  /**
   * Changes what guests see of their service (new store data, say):
   * requests that start afterwards see the new version, running ones keep theirs.
   */
  updateService(patch: Partial<ServiceInfo>): void {
    this.service = { ...this.service, ...patch };
    this.pool.updateService(this.moduleId, this.service);
  }

  /** Replaces some stores' data (a reloaded config store, say) and keeps the rest, as one new version. */
  updateData(patch: Partial<ServiceData>): void {
    this.updateService({ data: { ...this.service.data, ...patch } });
  }

  /** Modules replaced by `swapModule` that running requests still use: unloaded when the last one ends. */
  private readonly retired = new Set<string>();

  /**
   * Serves a new build of the app (`outpost serve --watch`) without a restart:
   * requests that start from now on run `module`, those already running finish
   * on the old one, which is unloaded once they are done. The cache, the KV
   * stores and the service's data are kept.
   */
  swapModule(module: LoadedModule): void {
    if (module.id === this.moduleId) return;
    this.retired.delete(module.id);
    this.pool.load(module.id, module.module, this.service, module.memory);
    this.retired.add(this.moduleId);
    this.moduleId = module.id;
    this.unloadRetired();
  }

  private unloadRetired(): void {
    if (this.retired.size === 0) return;
    const inUse = new Set<string>();
    for (const exchange of this.exchanges.values()) inUse.add(exchange.moduleId);
    for (const id of this.retired) {
      if (inUse.has(id)) continue;
      this.retired.delete(id);
      this.pool.unload(id);
    }
  }

  get workerCount(): number {
    return this.pool.size;
  }

  /** Resolves once every worker has started. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** The node:http request handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const rid = this.nextRid++;
    const body = hasBody(req)
      ? this.bodies.register(req, {
          length: req.headers["content-length"] ? Number(req.headers["content-length"]) : -1,
          owner: rid,
          trailers: () => req.rawTrailers,
          // An unread client body is left for node:http to drain: destroying it would drop the connection.
          release: () => req.resume(),
        })
      : null;
    const exchange = new Exchange(rid, req, res, this.moduleId, body, this.options.clientIpHeader);
    this.exchanges.set(rid, exchange);
    res.on("close", () => {
      exchange.responseMs = performance.now() - exchange.started;
      if (exchange.finished) this.logRequest(exchange);
    });
    this.dispatch(exchange);
  };

  /** The most recently parked sandbox of this module on a live worker, if any. */
  private takeParked(moduleId: string) {
    for (let i = this.parked.length - 1; i >= 0; i--) {
      const parked = this.parked[i];
      if (parked.moduleId !== moduleId || !parked.worker.alive) continue;
      this.parked.splice(i, 1);
      return parked;
    }
    return null;
  }

  /** `countAttempt`: false for a request a sandbox bounced (it never ran), which keeps its one replay. */
  private dispatch(exchange: Exchange, countAttempt = true): void {
    if (countAttempt) exchange.attempts++;
    const parked = this.takeParked(exchange.moduleId);
    const worker = parked?.worker ?? this.pool.pick();
    exchange.worker = worker;
    worker.running.add(exchange.rid);
    const { rid, head, body, info } = exchange;
    if (parked) worker.post({ t: "next", sandbox: parked.sandbox, rid, head, body, info });
    else worker.post({ t: "run", rid, moduleId: exchange.moduleId, head, body, info });
    clearTimeout(exchange.wallTimer);
    exchange.wallTimer = setTimeout(() => this.wallTimeExceeded(exchange), this.options.limits.wallMs);
  }

  private wallTimeExceeded(exchange: Exchange): void {
    if (exchange.finished) return;
    const message = `guest exceeded its wall-time limit of ${this.options.limits.wallMs} ms`;
    exchange.worker?.post({ t: "abort", rid: exchange.rid, limit: "wall", message });
    exchange.wallTimer = setTimeout(() => {
      if (!exchange.finished) this.finish(exchange, { kind: "limit", limit: "wall", message });
    }, ABORT_GRACE_MS);
  }

  private onMessage(worker: GuestWorker, message: WorkerToMain): void {
    if (!worker.alive) return;
    switch (message.t) {
      case "call":
        return this.onCall(worker, message);
      case "respond": {
        const exchange = this.exchanges.get(message.rid);
        const sink = message.body.stream ? this.sink(worker, message.body.stream) : null;
        if (!exchange || exchange.responded) return this.discard(message.body, sink);
        if (sink) exchange.sinks.add(sink);
        return this.respond(exchange, message.head, message.manualFraming, message.body, sink);
      }
      case "write":
        return this.sink(worker, message.stream).push(message.chunk);
      case "finish":
        this.sink(worker, message.stream).finish(message.abandon, message.trailers);
        this.sinks.get(worker)?.delete(message.stream);
        return;
      case "log":
        return this.options.logger.guest(message.rid, message.endpoint, message.message);
      case "release":
        for (const id of message.bodies) this.bodies.release(id);
        return;
      case "park":
        if (message.moduleId === this.moduleId) this.parked.push({ sandbox: message.sandbox, worker, moduleId: message.moduleId });
        return;
      case "unpark":
        this.parked = this.parked.filter((parked) => !(parked.worker === worker && parked.sandbox === message.sandbox));
        return;
      case "bounce": {
        // The sandbox stopped waiting before the request reached it: start it the usual way.
        worker.running.delete(message.rid);
        const exchange = this.exchanges.get(message.rid);
        if (exchange && !exchange.finished && exchange.worker === worker) this.dispatch(exchange, false);
        return;
      }
      case "done": {
        const exchange = this.exchanges.get(message.rid);
        worker.running.delete(message.rid);
        if (exchange && exchange.worker === worker) {
          exchange.cpuMs = message.cpuMs;
          this.finish(exchange, message.outcome);
        }
        return;
      }
    }
  }

  /** The stream a worker writes under `id`, created on first mention. */
  private sink(worker: GuestWorker, id: number): StreamSink {
    let sinks = this.sinks.get(worker);
    if (!sinks) this.sinks.set(worker, (sinks = new Map()));
    let sink = sinks.get(id);
    if (!sink) {
      sink = new StreamSink((bytes) => worker.post({ t: "ack", stream: id, bytes }));
      sinks.set(id, sink);
    }
    return sink;
  }

  private onCall(worker: GuestWorker, message: CallMessage): void {
    const reply = (value: unknown, transfer: ArrayBuffer[] = []) =>
      worker.post({ t: "reply", call: message.call, ok: true, value }, transfer);
    const fail = (error: unknown) => worker.post({ t: "reply", call: message.call, ok: false, error: remoteError(error) });
    try {
      if (message.op === "read") {
        const source = this.bodies.get(message.body);
        const owner = this.exchanges.get(source.options.owner);
        if (owner?.body?.id === message.body) owner.bodyTouched = true;
        source.read(message.max).then((result) => {
          const chunk = result.chunk;
          reply(result, chunk && chunk.buffer instanceof ArrayBuffer ? [chunk.buffer] : []);
        }, fail);
        return;
      }
      if (message.op === "invoke") {
        // Synchronously: a service takes what the call hands it (a body by id, say)
        // before the next message of the batch (the guest's `done`) lets it go.
        Promise.resolve(this.invoke(worker, message)).then((result) => reply(result), fail);
        return;
      }
      this.send(worker, message).then((result) => reply(result), fail);
    } catch (error) {
      fail(error);
    }
  }

  private invoke(worker: GuestWorker, message: Extract<CallMessage, { op: "invoke" }>): unknown {
    const exchange = this.exchanges.get(message.rid);
    if (!exchange || exchange.finished) throw new HostError(Status.ERROR, "the request has ended");
    const method = this.options.services?.[message.service]?.[message.method];
    if (!method) throw new HostError(Status.UNSUPPORTED, `no host service ${message.service}.${message.method}`);
    const context: CallContext = {
      exchange,
      bodies: this.bodies,
      sink: (id) => {
        const sink = this.sink(worker, id);
        exchange.sinks.add(sink);
        return sink;
      },
    };
    return (method as (context: CallContext, ...args: unknown[]) => unknown)(context, ...message.args);
  }

  private async send(worker: GuestWorker, message: Extract<CallMessage, { op: "send" }>): Promise<SendResult> {
    const exchange = this.exchanges.get(message.rid);
    const sink = message.body.stream ? this.sink(worker, message.body.stream) : null;
    if (!exchange || exchange.finished) {
      this.discard(message.body, sink);
      throw new HostError(Status.ERROR, "the request has ended");
    }
    const backend = this.options.backends.get(message.backend) ?? this.options.dynamicBackends?.get(exchange, message.backend);
    if (!backend) {
      this.discard(message.body, sink);
      throw new HostError(Status.INVAL, `unknown backend ${message.backend}`);
    }
    if (sink) exchange.sinks.add(sink);
    const body = assembleBody(message.body, this.bodies, sink);
    let bodyUsed = false;
    // The guest's own request carries its body and ends with the exchange;
    // requests the cache makes itself (background revalidations) do neither.
    const origin: Origin = async (head, { withBody }) => {
      const abort = withBody ? new AbortController() : null;
      if (abort) {
        bodyUsed = true;
        exchange.sends++;
        exchange.pendingSends.add(abort);
      }
      try {
        return await sendUpstream(backend, {
          head,
          body: !withBody ? null : body.bytes ? (body.bytes.byteLength > 0 ? body.bytes : null) : body.chunks,
          bodyLength: withBody ? body.length : null,
          manualFraming: message.options.manualFraming,
          signal: abort?.signal,
        });
      } finally {
        if (abort) exchange.pendingSends.delete(abort);
      }
    };
    let response: OriginResponse;
    try {
      if (message.options.bypassCache) response = await origin(message.head, { withBody: true });
      else {
        const request = { head: message.head, override: cacheOverride(message.options.cacheOverride) };
        // A hit whole in memory is answered at once, its chunks kept as they are (no stream).
        response = this.cache.sendStored(request, origin) ?? (await this.cache.send(request, origin));
      }
    } finally {
      if (!bodyUsed) body.release();
    }
    if (message.options.autoDecompressGzip) {
      if (response.chunks) response = { ...response, body: Readable.from(response.chunks), chunks: undefined };
      response = gunzipped(response);
    }
    const head: ResponseHead = { status: response.status, version: HttpVersion.HTTP_11, headers: response.headers };
    if (exchange.finished) {
      response.body?.on("error", () => {}).destroy();
      throw new HostError(Status.ERROR, "the request has ended");
    }
    let info = null;
    const content = response.chunks ?? response.body;
    if (!content || response.length === 0 || message.head.method === "HEAD") response.body?.resume();
    else info = this.bodies.register(content, { length: response.length, owner: exchange.rid, trailers: response.trailers });
    return { head, body: info, remoteAddress: null, remotePort: 0 };
  }

  private respond(exchange: Exchange, head: ResponseHead, manualFraming: boolean, spec: BodySpec, sink: StreamSink | null): void {
    exchange.responded = true;
    const body = assembleBody(spec, this.bodies, sink);
    const debug = exchange.req.headers["fastly-debug"] !== undefined;
    const failed = (error: Error) => {
      this.options.logger.error(`#${exchange.rid}: writing the response failed: ${error.message}`);
      exchange.res.destroy();
    };
    try {
      writeResponse(exchange.res, exchange.method, head, manualFraming, body, debug)?.catch(failed);
    } catch (error) {
      failed(error as Error);
    }
  }

  /** Lets go of a body sent for a request that has ended. */
  private discard(spec: BodySpec, sink: StreamSink | null): void {
    for (const part of spec.parts) if (typeof part === "number") this.bodies.release(part);
    sink?.discard();
  }

  /** The guest is done (or given up on): answer the client if the guest did not, and clean up. */
  private finish(exchange: Exchange, outcome: GuestOutcome): void {
    if (exchange.finished) return;
    exchange.finished = true;
    clearTimeout(exchange.wallTimer);
    this.exchanges.delete(exchange.rid);
    exchange.worker?.running.delete(exchange.rid);
    this.unloadRetired();
    this.bodies.releaseOwnedBy(exchange.rid);
    for (const sink of exchange.sinks) sink.finish(true, null);
    for (const cleanup of exchange.cleanups) cleanup();
    exchange.cleanups.clear();
    // Origin requests the guest can no longer use are dropped; bodies already flowing to the client are not.
    for (const abort of exchange.pendingSends) abort.abort();
    if (outcome.kind !== "ok") {
      exchange.note = describe(outcome);
      this.options.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: ${exchange.note}`);
    }
    // One log line per request, once both the response and the guest are over.
    if (exchange.responseMs !== null) this.logRequest(exchange);
    if (exchange.responded) return;
    exchange.responded = true;
    const [status, text] =
      outcome.kind === "ok" ? [200, ""] : outcome.kind === "limit" ? [503, outcome.message] : [500, describe(outcome)];
    if (exchange.res.headersSent) return;
    exchange.res.writeHead(status, text ? { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text + "\n") } : { "content-length": 0 });
    exchange.res.end(text ? text + "\n" : undefined);
  }

  private onWorkerLost(worker: GuestWorker, culprit: number | null, reason: string): void {
    this.sinks.delete(worker);
    this.parked = this.parked.filter((parked) => parked.worker !== worker);
    for (const rid of worker.running) {
      const exchange = this.exchanges.get(rid);
      if (!exchange || exchange.worker !== worker) continue;
      if (rid === culprit) {
        this.finish(exchange, { kind: "limit", limit: "cpu", message: `guest exceeded its CPU time limit of ${this.options.limits.cpuMs} ms` });
      } else if (culprit !== null && exchange.replayable) {
        // An innocent bystander on the stopped worker: run it again elsewhere.
        this.bodies.releaseOwnedBy(rid, exchange.body?.id);
        for (const sink of exchange.sinks) sink.finish(true, null);
        exchange.sinks.clear();
        for (const cleanup of exchange.cleanups) cleanup();
        exchange.cleanups.clear();
        this.dispatch(exchange);
      } else {
        this.finish(exchange, { kind: "limit", limit: "cpu", message: `the guest's worker was stopped: ${reason}` });
        if (exchange.res.headersSent && !exchange.res.writableFinished) exchange.res.destroy();
      }
    }
    worker.running.clear();
    this.options.logger.warn(`worker ${worker.id} replaced: ${reason}`);
  }

  private logRequest(exchange: Exchange): void {
    this.options.logger.request({
      rid: exchange.rid,
      method: exchange.method,
      path: exchange.path,
      status: exchange.res.statusCode,
      ms: exchange.responseMs ?? performance.now() - exchange.started,
      cpuMs: exchange.cpuMs,
      note: exchange.res.writableFinished ? exchange.note : (exchange.note ?? "connection closed early"),
    });
  }

  async close(): Promise<void> {
    for (const exchange of this.exchanges.values()) clearTimeout(exchange.wallTimer);
    await this.pool.close();
  }
}

/** RFC 9112 §6.3: a request has a body when it declares a length or a transfer coding. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

function remoteError(error: unknown): RemoteError {
  if (error instanceof SendError) return { status: error.status, message: error.message, detail: error.detail };
  if (error instanceof HostError) return { status: error.status, message: error.message };
  return { status: Status.ERROR, message: error instanceof Error ? error.message : String(error) };
}

function describe(outcome: GuestOutcome): string {
  switch (outcome.kind) {
    case "ok":
      return "ok";
    case "exit":
      return `guest exited with code ${outcome.code}`;
    case "trap":
      return `guest trapped: ${outcome.message}`;
    case "limit":
      return outcome.message;
  }
}
