// Per-run state of one guest instance: its handle tables, the client's
// request, and the link to the main thread. Built fresh for every run and
// dropped with it, so nothing leaks from one run to the next. A guest that
// asks for more requests (`next_request`, a reusable sandbox) serves them
// in the same run: each becomes the session's current downstream request.
import { HttpVersion } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import { CpuTracker } from "../engine/cpu-tracker.ts";
import { LimitExceeded } from "../engine/guest-abort.ts";
import type { GuestMemory } from "../engine/guest-memory.ts";
import type {
  BackendSummary,
  BodySpec,
  CacheOverride,
  DownstreamInfo,
  RemoteBodyInfo,
  RequestHead,
  ResponseHead,
  ServiceInfo,
  WorkerCall,
} from "../engine/protocol.ts";
import { Body, type RemoteReader } from "./body.ts";
import type { CacheBusyHandle, CacheHandle } from "./cache-handles.ts";
import type { KvPending } from "../stores/kv-pending.ts";
import type { Acl } from "../stores/acl.ts";
import { HandleTable } from "./handle-table.ts";
import { Headers } from "./headers.ts";
import type { RequestPromise } from "./next-request.ts";
import { PendingRequest } from "./pending-request.ts";
import type { StreamSink, StreamWriter } from "./stream-writer.ts";

/** What a session needs from the thread it runs on. */
export interface HostLink extends RemoteReader, StreamSink {
  call(rid: number, call: WorkerCall): Promise<unknown>;
  /** Calls a main-thread service (see runtime/server/host-services.ts). */
  invoke(rid: number, service: string, method: string, args: unknown[]): Promise<unknown>;
  respond(rid: number, head: ResponseHead, manualFraming: boolean, body: BodySpec): void;
  log(rid: number, endpoint: string, message: string): void;
  openStream(): StreamWriter;
  /** Releases main-thread bodies the guest dropped unread. */
  release(rid: number, bodies: number[]): void;
  /** Reusable sandboxes: waits up to `timeoutMs` for another request of the session's module (absent: unsupported). */
  awaitNextRequest?(s: Session, timeoutMs: number): RequestPromise;
  /** Reports the current request of a reusable sandbox done; the run goes on. */
  requestDone?(s: Session): void;
}

export class RequestState {
  method = "GET";
  uri = "/";
  version: number = HttpVersion.HTTP_11;
  headers = new Headers();
  cacheOverride: CacheOverride | null = null;
  manualFraming = false;
  autoDecompressGzip = false;

  head(): RequestHead {
    return { method: this.method, uri: this.uri, version: this.version, headers: this.headers.toFlat() };
  }
}

export class ResponseState {
  status = 200;
  version: number = HttpVersion.HTTP_11;
  headers = new Headers();
  manualFraming = false;
  /** `http_keepalive_mode_set(no_keepalive)`: close the client connection after this response. */
  keepaliveOff = false;
  /** Origin address, for `get_addr_dest_*`. */
  remoteAddress: string | null = null;
  remotePort = 0;

  head(): ResponseHead {
    return { status: this.status, version: this.version, headers: this.headers.toFlat() };
  }
}

/** Anything `fastly_async_io::select` can wait on shares one handle space. */
export type AsyncItem = Body | PendingRequest | CacheHandle | CacheBusyHandle | KvPending;

export class Session {
  /** The main thread's id of the current downstream request. */
  rid: number;
  info: DownstreamInfo;
  readonly service: ServiceInfo;
  readonly link: HostLink;
  mem!: GuestMemory;

  readonly requests = new HandleTable<RequestState>("request");
  readonly responses = new HandleTable<ResponseState>("response");
  readonly asyncItems = new HandleTable<AsyncItem>("body or pending request");
  readonly logEndpoints = new HandleTable<string>("log endpoint");
  /** Backends this request registered (`register_dynamic_backend`), by name. */
  readonly dynamicBackends = new Map<string, BackendSummary>();
  /** Open config stores and dictionaries (one table: both modules read the same stores): key -> value. */
  readonly configStores = new HandleTable<Readonly<Record<string, string>>>("config store");
  readonly secretStores = new HandleTable<Readonly<Record<string, Uint8Array>>>("secret store");
  readonly secrets = new HandleTable<Uint8Array>("secret");
  /** Open KV stores (`fastly_kv_store` and the deprecated `fastly_object_store` share them), by name. */
  readonly kvStores = new HandleTable<string>("kv store");
  /** Open ACLs (`fastly_acl`). */
  readonly acls = new HandleTable<Acl>("acl");
  downstreamRequest!: number;
  downstreamBody!: number;
  /** Header names and count of the client's request before any guest edit. */
  originalHeaderNames!: string[];
  /** Downstream requests served before the current one (reusable sandboxes). */
  served = 0;
  /** The module this run belongs to: a reusable sandbox only gets requests for it. */
  moduleId = "";
  /** The current request's end was reported to the main thread (a reusable sandbox between requests). */
  reported = false;
  readonly requestPromises = new HandleTable<RequestPromise>("request promise");

  /** Set once `send_downstream` has been called: there is one response per request. */
  responded = false;
  /** Work the guest started that must finish before the run is reported done (`send_downstream_pending`). */
  background: Promise<void>[] = [];
  /**
   * Host memory the guest's calls hold (buffered bodies, header fields),
   * charged against its memory limit: a guest cannot grow the host's heap
   * past what it may use in its own memory.
   */
  private hostBytes = 0;
  /** Set when the main thread ends the run (wall-time limit): every host call then throws it. */
  aborted: LimitExceeded | null = null;
  /** Rejects when the run is aborted, waking the guest from whatever it waits on. */
  abortSignal!: Promise<never>;
  private rejectAbort!: (error: LimitExceeded) => void;

  // CPU accounting, maintained by the CpuTracker.
  cpuUsedMs = 0;
  /** Thread CPU time when the current slice began, or -1 when the guest is not running. */
  sliceStartCpu = -1;
  finished = false;

  constructor(rid: number, head: RequestHead, body: RemoteBodyInfo | null, info: DownstreamInfo, service: ServiceInfo, link: HostLink) {
    this.rid = rid;
    this.info = info;
    this.service = service;
    this.link = link;
    this.adoptDownstream(rid, head, body, info);
  }

  /**
   * Makes a client request the current one: the first of the run, or the
   * next one a reusable sandbox waited for (`next_request_wait`). Limits
   * start over with it: CPU time and the wall-time abort are per request.
   */
  adoptDownstream(rid: number, head: RequestHead, body: RemoteBodyInfo | null, info: DownstreamInfo): void {
    this.rid = rid;
    this.info = info;
    const request = new RequestState();
    request.method = head.method;
    request.uri = head.uri;
    request.version = head.version;
    request.headers = Headers.fromFlat(head.headers);
    this.downstreamRequest = this.requests.add(request);
    this.downstreamBody = this.asyncItems.add(Body.fromRemote(body));
    this.originalHeaderNames = info.originalHeaderNames;
    this.responded = false;
    this.reported = false;
    this.cpuUsedMs = 0;
    this.aborted = null;
    this.abortSignal = new Promise<never>((_, reject) => (this.rejectAbort = reject));
    this.abortSignal.catch(() => {}); // handled by whoever races it
  }

  abort(error: LimitExceeded): void {
    if (this.aborted) return;
    this.aborted = error;
    this.rejectAbort(error);
  }

  /** A backend this request may send to: one of its service's, or one it registered. */
  backend(name: string): BackendSummary | undefined {
    return this.service.backends.find((backend) => backend.name === name) ?? this.dynamicBackends.get(name);
  }

  body(handle: number): Body {
    const item = this.asyncItems.get(handle);
    if (!(item instanceof Body)) throw new HostError(Status.BADF, `handle ${handle} is not a body`);
    return item;
  }

  /** A body that can still be read from or written to in place (not the write end of a stream). */
  bufferedBody(handle: number): Body {
    const body = this.body(handle);
    if (body.isStreaming) throw new HostError(Status.BADF, `body ${handle} is a streaming body`);
    return body;
  }

  takeBody(handle: number): Body {
    const body = this.body(handle);
    this.asyncItems.take(handle);
    return body;
  }

  pending(handle: number): PendingRequest {
    const item = this.asyncItems.get(handle);
    if (!(item instanceof PendingRequest)) throw new HostError(Status.BADF, `handle ${handle} is not a pending request`);
    return item;
  }

  /** Adopts a response from the main thread: returns [response handle, body handle]. */
  adoptResponse(head: ResponseHead, body: RemoteBodyInfo | null, remoteAddress: string | null, remotePort: number): [number, number] {
    const response = new ResponseState();
    response.status = head.status;
    response.version = head.version;
    response.headers = Headers.fromFlat(head.headers);
    response.remoteAddress = remoteAddress;
    response.remotePort = remotePort;
    return [this.responses.add(response), this.asyncItems.add(Body.fromRemote(body))];
  }

  /** Counts `bytes` more (or fewer, when negative) of host memory held for the guest; `what` names it in the error. */
  chargeHostMemory(bytes: number, what: string): void {
    if (bytes > 0 && this.hostBytes + bytes > this.service.limits.memoryBytes) {
      throw new HostError(Status.LIMITEXCEEDED, `${what} exceed the guest's memory limit`);
    }
    this.hostBytes = Math.max(0, this.hostBytes + bytes);
  }

  private hostCalls = 0;

  /**
   * Throws when the run must stop: called on entry to every host call. The
   * clock is read on every 32nd call only; a guest that stops calling the
   * host is caught by the main thread's watchdog instead.
   */
  checkLimits(): void {
    if (this.aborted) throw this.aborted;
    if ((++this.hostCalls & 31) === 0 && CpuTracker.used(this) > this.service.limits.cpuMs) {
      throw new LimitExceeded("cpu", `guest exceeded its CPU time limit of ${this.service.limits.cpuMs} ms`);
    }
  }
}
