// The no-code caching service (`outpost serve --origin URL`): the
// platform's plain CDN service. Every client request goes through the same
// readthrough cache guests use, to one origin, with no guest on the path.
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import { BackendHealth, HttpVersion, SendErrorDetailTag } from "../abi/constants.ts";
import { SendError } from "../abi/status.ts";
import { Backend } from "../backends/backend.ts";
import { sendUpstream } from "../backends/upstream.ts";
import { NO_OVERRIDE } from "../cache/policy.ts";
import type { Origin, OriginResponse, Readthrough } from "../cache/readthrough.ts";
import {
  DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_FIRST_BYTE_TIMEOUT_MS,
} from "../config/backends.ts";
import { ConfigError } from "../config/config-error.ts";
import type { RequestHead } from "../engine/protocol.ts";
import type { RequestCounters } from "../admin/request-counters.ts";
import type { Logger } from "./logger.ts";
import { hasNoBody } from "./response-writer.ts";
import { localAuthority } from "./local-authority.ts";
import { answerClientConditions, mayBeClientCondition, takeClientConditions } from "./proxy-conditions.ts";
import { backendTarget, passThrough, Tunnels } from "./pass-through.ts";
import type { Headers } from "../session/headers.ts";

const EXAMPLE = "(for example --origin http://127.0.0.1:8080)";

/** `--origin`: an http or https URL with a host and an optional path prefix (no query, no credentials). */
export function parseOriginUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const hint = text && !text.includes("://") ? ` (did you mean "http://${text}"?)` : ` ${EXAMPLE}`;
    throw new ConfigError(`--origin: ${JSON.stringify(text)} is not a URL${hint}`);
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new ConfigError(`--origin: ${JSON.stringify(text)} has no scheme (did you mean "http://${text}"?)`);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`--origin: the scheme must be http or https, got "${url.protocol.slice(0, -1)}"`);
  }
  if (!url.hostname) throw new ConfigError(`--origin: ${JSON.stringify(text)} has no host ${EXAMPLE}`);
  if (url.username || url.password) throw new ConfigError(`--origin: credentials in the URL are not supported; remove them`);
  if (url.search || url.hash || text.endsWith("?") || text.endsWith("#")) {
    throw new ConfigError(`--origin: the URL takes a path prefix but no query or fragment, got ${JSON.stringify(text)}`);
  }
  return url;
}

/**
 * The origin as a backend named "origin", with the platform's timeouts. The
 * Host header it receives is `overrideHost` when given, else the origin
 * URL's own host (with its port when not the scheme's default), so that
 * name-based virtual hosts answer; the client's Host goes in X-Forwarded-Host.
 * `caCertificates` (PEM) are trusted besides the system's roots for an https origin.
 */
export function originBackend(url: URL, overrideHost?: string, caCertificates?: string[]): Backend {
  return new Backend({
    name: "origin",
    url,
    overrideHost: overrideHost ?? url.host,
    certHost: null,
    useSni: true,
    grpc: false,
    caCertificates: caCertificates ?? null,
    clientCertificate: null,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: DEFAULT_FIRST_BYTE_TIMEOUT_MS,
    betweenBytesTimeoutMs: DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
    health: BackendHealth.UNKNOWN,
  });
}

/** Fields that describe the client's connection, not the request (RFC 9110 §7.6.1); sendUpstream drops a few more. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);
/** Set by the service itself on the way to the origin. */
const FORWARDED = new Set(["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"]);

export interface ProxyServiceOptions {
  cache: Readthrough;
  backend: Backend;
  logger: Logger;
  /** Counts responses by status class for /metrics. */
  requests?: RequestCounters;
  /** No request log lines (`--quiet`): a hit then costs no listener or clock reading. */
  quiet?: boolean;
}

export class ProxyService {
  /** WebSocket connections joined with the origin's, cut when the server closes. */
  readonly tunnels = new Tunnels();
  private readonly cache: Readthrough;
  private readonly backend: Backend;
  private readonly logger: Logger;
  private readonly requests: RequestCounters | undefined;
  private readonly quiet: boolean;
  private nextRid = 1;

  constructor(options: ProxyServiceOptions) {
    this.cache = options.cache;
    this.backend = options.backend;
    this.logger = options.logger;
    this.requests = options.requests;
    this.quiet = options.quiet ?? false;
  }

  /** The node:http request handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const rid = this.nextRid++;
    const quiet = this.quiet;
    const started = quiet ? 0 : performance.now();
    const method = req.method ?? "GET";
    const target = req.url ?? "/";
    const raw = req.rawHeaders;
    let host: string | undefined;
    let debug = false;
    let conditional = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (name.length === 4 && host === undefined && (name === "Host" || name === "host" || name.toLowerCase() === "host")) host = raw[i + 1];
      else if (name.length === 12 && name.toLowerCase() === "fastly-debug") debug = true;
      else if (!conditional) conditional = mayBeClientCondition(name);
    }
    const tls = "encrypted" in req.socket && Boolean(req.socket.encrypted);
    let uri: string;
    if (target.charCodeAt(0) === 47 /* / */) uri = `${tls ? "https" : "http"}://${host ?? localAuthority(req)}${target}`;
    else if (/^https?:\/\//i.test(target)) uri = target; // absolute form (RFC 9112 §3.2.2)
    else uri = "";
    // A GET's or HEAD's own conditions are answered here, from the whole response (proxy-conditions.ts).
    const taken = conditional && (method === "GET" || method === "HEAD") ? takeClientConditions(raw) : null;
    const exchange: ProxyExchange = { rid, started, method, path: target, note: undefined, conditions: taken?.conditions ?? null };
    const done = () => this.done(exchange, res);
    if (!quiet) res.on("close", done);
    if (!uri) {
      if (quiet) res.on("close", done);
      return this.fail(exchange, res, 400, "the request target must be a path or an absolute http(s) URL");
    }
    const version = req.httpVersion === "1.0" ? HttpVersion.HTTP_10 : HttpVersion.HTTP_11;
    const head: RequestHead = { method, uri, version, headers: taken?.forwarded ?? raw };
    const origin: Origin = (sent, { withBody }) => this.toOrigin(req, sent, withBody, host, tls);
    const request = { head, override: NO_OVERRIDE };
    // A hit is answered at once; anything else waits on the origin or on another request's fetch.
    let stored: OriginResponse | null;
    try {
      stored = this.cache.sendStored(request, origin);
    } catch (error) {
      if (quiet) res.on("close", done);
      return this.internalError(exchange, res, error as Error);
    }
    if (stored) {
      this.write(exchange, res, stored, debug);
      // Quiet, a hit is counted now: its head is written (the log line would wait for the end).
      if (quiet) this.requests?.responded(res);
      return;
    }
    if (quiet) res.on("close", done);
    this.cache
      .send(request, origin)
      .then(
        (response) => this.write(exchange, res, response, debug),
        (error: Error) => this.originFailed(exchange, res, error),
      )
      .catch((error: Error) => this.internalError(exchange, res, error));
  };

  /** Sends a request to the origin: the client's fields less hop-by-hop ones, with X-Forwarded-*. */
  private toOrigin(req: IncomingMessage, head: RequestHead, withBody: boolean, host: string | undefined, tls: boolean): Promise<OriginResponse> {
    const headers = forwardedFields(req, head.headers, host, tls, false);
    const hasBody = withBody && requestHasBody(req);
    const length = req.headers["content-length"];
    return sendUpstream(this.backend, {
      head: { ...head, headers },
      body: hasBody ? req : null,
      bodyLength: hasBody && length !== undefined ? Number(length) : null,
      manualFraming: false,
    });
  }

  /**
   * A WebSocket handshake (runtime/server/upgrade-requests.ts): passed to the
   * origin with its Connection and Upgrade fields, and the two connections
   * joined after the origin's 101, as the platform's WebSockets passthrough
   * does. Not cached; logged when the connection closes.
   */
  readonly handleUpgrade = (req: IncomingMessage, res: ServerResponse): void => {
    const exchange: ProxyExchange = { rid: this.nextRid++, started: performance.now(), method: req.method ?? "GET", path: req.url ?? "/", note: "websocket", conditions: null };
    res.on("close", () => this.done(exchange, res));
    const tls = "encrypted" in req.socket && Boolean(req.socket.encrypted);
    passThrough({
      req,
      res,
      target: { ...backendTarget(this.backend), label: "the origin" },
      method: exchange.method,
      path: exchange.path,
      headers: withoutHost(forwardedFields(req, req.rawHeaders, req.headers.host, tls, true)),
      body: null,
      tunnels: this.tunnels,
      failed: (message) => {
        this.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: origin request failed: ${message}`);
        exchange.note = message;
        this.fail(exchange, res, 502, `the origin did not take the WebSocket: ${message}`);
      },
    });
  };

  private write(exchange: ProxyExchange, res: ServerResponse, fromCache: OriginResponse, debug: boolean): void {
    const response = exchange.conditions ? answerClientConditions(exchange.method, exchange.conditions, fromCache) : fromCache;
    const body = response.body;
    if (res.destroyed) {
      body?.destroy();
      return;
    }
    const noBody = hasNoBody(response.status, exchange.method);
    try {
      res.writeHead(response.status, clientHeaders(response, exchange.method, noBody, debug));
    } catch (error) {
      // A status or field node:http refuses to write.
      body?.destroy();
      return this.internalError(exchange, res, error as Error, 502, "the origin's response could not be passed on");
    }
    if (noBody) {
      body?.resume();
      res.end();
      return;
    }
    const chunks = response.chunks;
    if (chunks) {
      // The whole body is in memory (a hit): no stream, one write when it is one chunk.
      if (chunks.length === 1) res.end(chunks[0]);
      else {
        res.cork();
        for (const chunk of chunks) res.write(chunk);
        res.end();
      }
      return;
    }
    if (!body) {
      res.end();
      return;
    }
    pipeline(body, res, (error) => {
      // A body cut short must not look complete to the client: pipeline has destroyed the response.
      if (!error || (error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE") return; // the client left
      exchange.note = `the origin's body failed: ${error.message}`;
      this.logger.warn(`#${exchange.rid} ${exchange.method} ${exchange.path}: ${exchange.note}`);
    });
  }

  private originFailed(exchange: ProxyExchange, res: ServerResponse, error: Error): void {
    const [status, reason] = describeFailure(error);
    this.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: origin request failed: ${error.message}`);
    exchange.note = reason;
    this.fail(exchange, res, status, reason);
  }

  /** Something went wrong on this side (a bug, or a response node:http refuses to write): answered, logged, never a crash. */
  private internalError(exchange: ProxyExchange, res: ServerResponse, error: Error, status = 500, message = "internal error"): void {
    this.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: ${error.message}`);
    exchange.note = error.message;
    this.fail(exchange, res, status, message);
  }

  private fail(exchange: ProxyExchange, res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = `${status} ${STATUS_TEXT[status] ?? "Error"}: ${message}\n`;
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(exchange.method === "HEAD" ? undefined : text);
  }

  /** One log line per request, once its response is over. */
  private done(exchange: ProxyExchange, res: ServerResponse): void {
    this.requests?.responded(res);
    if (this.quiet) return;
    this.logger.request({
      rid: exchange.rid,
      method: exchange.method,
      path: exchange.path,
      status: res.statusCode,
      ms: performance.now() - exchange.started,
      note: res.writableFinished ? exchange.note : (exchange.note ?? "connection closed early"),
    });
  }
}

interface ProxyExchange {
  rid: number;
  started: number;
  method: string;
  path: string;
  note: string | undefined;
  /** The client's conditional and range fields, answered from the response. */
  conditions: Headers | null;
}

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout" };

/**
 * The response's fields as the client gets them: no connection-level ones,
 * Surrogate-* and X-Cache-Debug only for Fastly-Debug requests, and the
 * length of the body (a HEAD response keeps the length a GET would have had,
 * RFC 9110 §8.6; a body of unknown length goes chunked).
 */
function clientHeaders(response: OriginResponse, method: string, noBody: boolean, debug: boolean): string[] {
  const headers = response.headers;
  const head = method === "HEAD";
  const flat: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i];
    if (!dropped(name, head, debug)) flat.push(name, headers[i + 1]);
  }
  if (!noBody && response.length >= 0) flat.push("content-length", String(response.length));
  return flat;
}

/**
 * Whether a response field stays away from the client: the connection-level
 * ones and the framing are the server's to set (RFC 9110 §7.6.1); Surrogate-*
 * and X-Cache-Debug go only to Fastly-Debug requests. (Names are lower case.)
 */
function dropped(name: string, head: boolean, debug: boolean): boolean {
  switch (name.length) {
    case 7:
      return name === "upgrade";
    case 10:
      return name === "connection" || name === "keep-alive";
    case 13:
      return !debug && (name === "surrogate-key" || name === "x-cache-debug");
    case 14:
      return !head && name === "content-length";
    case 16:
      return name === "proxy-connection";
    case 17:
      return name === "transfer-encoding" || (!debug && name === "surrogate-control");
    default:
      return false;
  }
}

/**
 * The client's fields as the origin gets them: less the hop-by-hop ones (but
 * Connection and Upgrade for a WebSocket handshake, `upgrade`), with
 * X-Forwarded-For (the client's address appended), -Host and -Proto.
 * Names are lower case.
 */
function forwardedFields(req: IncomingMessage, raw: readonly string[], host: string | undefined, tls: boolean, upgrade: boolean): string[] {
  // Fields the client's Connection header names are hop-by-hop too.
  let nominated: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== "connection") continue;
    for (const token of raw[i + 1].split(",")) (nominated ??= new Set()).add(token.trim().toLowerCase());
  }
  const headers: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const handshake = upgrade && (name === "connection" || name === "upgrade");
    if (!handshake && (HOP_BY_HOP.has(name) || nominated?.has(name))) continue;
    if (FORWARDED.has(name)) {
      if (name === "x-forwarded-for") forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
      continue;
    }
    headers.push(name, raw[i + 1]);
  }
  const client = req.socket.remoteAddress;
  if (client) headers.push("x-forwarded-for", forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  else if (forwardedFor !== undefined) headers.push("x-forwarded-for", forwardedFor);
  if (host !== undefined) headers.push("x-forwarded-host", host);
  headers.push("x-forwarded-proto", tls ? "https" : "http");
  return headers;
}

/** Fields (lower-case names) less Host: the origin gets its own. */
function withoutHost(fields: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] !== "host") out.push(fields[i], fields[i + 1]);
  return out;
}

/** RFC 9112 §6.3: a request has a body when it declares a length or a transfer coding. */
function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/** The status a client gets for a failed origin request (502, or 504 for a timeout), and why in a few words. */
function describeFailure(error: Error): [number, string] {
  if (!(error instanceof SendError)) return [502, "the origin request failed"];
  switch (error.detail) {
    case SendErrorDetailTag.CONNECTION_TIMEOUT:
      return [504, "the origin did not accept a connection in time"];
    case SendErrorDetailTag.HTTP_RESPONSE_TIMEOUT:
      return [504, "the origin did not answer in time"];
    case SendErrorDetailTag.CONNECTION_REFUSED:
      return [502, "the origin refused the connection"];
    case SendErrorDetailTag.DNS_ERROR:
    case SendErrorDetailTag.DNS_TIMEOUT:
      return [502, "the origin's host name did not resolve"];
    case SendErrorDetailTag.DESTINATION_IP_UNROUTABLE:
      return [502, "the origin is unreachable"];
    case SendErrorDetailTag.CONNECTION_TERMINATED:
    case SendErrorDetailTag.HTTP_INCOMPLETE_RESPONSE:
      return [502, "the origin closed the connection before answering"];
    case SendErrorDetailTag.HTTP_PROTOCOL_ERROR:
    case SendErrorDetailTag.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE:
      return [502, "the origin sent an invalid response"];
    case SendErrorDetailTag.TLS_CERTIFICATE_ERROR:
      return [502, "the origin's TLS certificate was not accepted"];
    case SendErrorDetailTag.TLS_ALERT_RECEIVED:
    case SendErrorDetailTag.TLS_PROTOCOL_ERROR:
      return [502, "the TLS handshake with the origin failed"];
    default:
      return [502, "the origin request failed"];
  }
}
