// One client request on the main thread, from arrival to the last byte of
// its response: which worker runs its guest, what the guest has done that
// cannot be undone (a response started, the request body read, an origin
// contacted), and the limits' timers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GuestWorker } from "../engine/worker-pool.ts";
import type { DownstreamInfo, RemoteBodyInfo, RequestHead } from "../engine/protocol.ts";
import { HttpVersion } from "../abi/constants.ts";
import { takeClientIp } from "./client-ip.ts";
import { localAuthority } from "./local-authority.ts";
import type { StreamSink } from "./stream-sink.ts";
import type { TLSSocket } from "node:tls";
import { tlsFactsOf } from "../net/tls-front.ts";
import { botFacts } from "./bot-headers.ts";

/** RFC 9110 §9.2.1: methods a client expects to have no effect. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export class Exchange {
  readonly rid: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly started = performance.now();
  readonly head: RequestHead;
  readonly info: DownstreamInfo;
  readonly body: RemoteBodyInfo | null;
  readonly moduleId: string;

  worker: GuestWorker | null = null;
  attempts = 0;
  /** The guest's response has been started (or a synthetic one sent). */
  responded = false;
  /** The guest finished (or was given up on): its messages are no longer expected. */
  finished = false;
  /** The guest read from the client's body: it can no longer be replayed. */
  bodyTouched = false;
  /** Origin requests the guest has made. */
  sends = 0;
  /** Origin requests still waiting for their response head: aborted if the exchange ends first. */
  readonly pendingSends = new Set<AbortController>();
  /** Streams this guest writes to (its response, its origin request bodies). */
  readonly sinks = new Set<StreamSink>();
  /** Lets go of main-thread state the guest held (cache handles, ...): run when its run ends or is replayed. */
  readonly cleanups = new Set<() => void>();
  wallTimer: NodeJS.Timeout | undefined;
  /** Time from arrival to the end of the response, once the response is over. */
  responseMs: number | null = null;
  /** CPU time the guest used, once it is done. */
  cpuMs: number | null = null;
  /** Why the run ended abnormally, for the request log line. */
  note: string | undefined;

  /**
   * `clientIpHeader`: honour the local-testing fields: the client address from
   * X-Outpost-Client-IP (runtime/server/client-ip.ts), bot detection from
   * X-Fastly-Bot-* (runtime/server/bot-headers.ts).
   */
  constructor(rid: number, req: IncomingMessage, res: ServerResponse, moduleId: string, body: RemoteBodyInfo | null, clientIpHeader = false) {
    this.rid = rid;
    this.req = req;
    this.res = res;
    this.moduleId = moduleId;
    this.body = body;
    const host = req.headers.host ?? localAuthority(req);
    const tls = "encrypted" in req.socket && Boolean(req.socket.encrypted);
    const override = clientIpHeader ? takeClientIp(req.rawHeaders) : null;
    const rawHeaders = override?.rawHeaders ?? req.rawHeaders;
    this.head = {
      method: req.method ?? "GET",
      // The guest sees an absolute URI, as on the platform.
      uri: `${tls ? "https" : "http"}://${host}${req.url ?? "/"}`,
      version: req.httpVersion === "1.0" ? HttpVersion.HTTP_10 : HttpVersion.HTTP_11,
      headers: rawHeaders,
    };
    const originalHeaderNames: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) originalHeaderNames.push(rawHeaders[i]);
    this.info = {
      requestId: rid.toString(16).padStart(32, "0"),
      clientAddress: override?.address ?? req.socket.remoteAddress ?? "",
      serverAddress: req.socket.localAddress ?? "",
      serverPort: req.socket.localPort ?? 0,
      originalHeaderNames,
      tls,
      tlsFacts: tls ? tlsFactsOf(req.socket as TLSSocket) : undefined,
      bot: clientIpHeader ? botFacts(req.headers) : undefined,
    };
  }

  get method(): string {
    return this.head.method;
  }

  /** The path and query, for the log. */
  get path(): string {
    return this.req.url ?? "/";
  }

  /**
   * Whether the request can run again from the start on another worker:
   * nothing the client or an origin could observe has happened yet.
   */
  get replayable(): boolean {
    if (this.responded || this.bodyTouched || this.attempts >= 2) return false;
    return this.sends === 0 || SAFE_METHODS.has(this.method);
  }
}
