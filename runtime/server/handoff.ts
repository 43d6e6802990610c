// Handing a client's connection to a backend or to a local Pushpin, as the
// guest asked (`redirect_to_websocket_proxy*`, `redirect_to_grip_proxy*`;
// runtime/hostcalls/handoff.ts). The client's request goes on to the target;
// a `101 Switching Protocols` from it joins the two connections byte for byte
// until either end closes (a WebSocket passthrough); any other response is
// passed to the client as it comes. This outlives the guest, which may end
// as soon as it has asked.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Duplex, pipeline } from "node:stream";
import { checkServerIdentity, rootCertificates } from "node:tls";
import { HostError, Status } from "../abi/status.ts";
import type { Backend, Backends } from "../backends/backend.ts";
import type { DynamicBackends } from "../backends/dynamic.ts";
import type { RequestHead } from "../engine/protocol.ts";
import type { Exchange } from "./exchange.ts";
import type { HostService } from "./host-services.ts";
import type { Logger } from "./logger.ts";
import { upgradeOf } from "./upgrade-requests.ts";

/**
 * Fields that stay the client's when the guest hands off a request of its
 * own (v2): the WebSocket handshake, the framing, the connection's own.
 */
const CLIENT_FIELDS = new Set([
  "host",
  "connection",
  "upgrade",
  "sec-websocket-version",
  "sec-websocket-key",
  "pushpin-route",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "expect",
  "proxy-authenticate",
  "proxy-authorization",
  "cdn-loop",
  "fastly-ff",
]);

/** Where a handoff goes, and how. */
interface HandoffTarget {
  /** For messages: `backend "ws"`, `Pushpin (route "ws")`. */
  label: string;
  host: string;
  port: number;
  /** TLS options for an https backend, or null. */
  tls: Record<string, unknown> | null;
  /** The Host field the target gets. */
  hostHeader: string;
  /** Prepended to the request's path (a backend URL's path). */
  pathPrefix: string;
  /** Fields set (replacing the request's) for the target. */
  extraHeaders: [string, string][];
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
}

export interface HandoffOptions {
  backends: Backends;
  dynamicBackends: DynamicBackends;
  /** `--local-pushpin-proxy-port`: where a local Pushpin listens, for Fanout handoffs. */
  pushpinPort?: number;
  logger: Logger;
}

/** The `handoff` host service, and `close` to cut the connections it still carries. */
export function handoffService(options: HandoffOptions): { service: HostService; close(): void } {
  const tunnels = new Set<Duplex>();
  /** The handoff is the request's response: there can be no other. */
  const claimResponse = (exchange: Exchange) => {
    if (exchange.responded) throw new HostError(Status.ERROR, "a response was already sent to the client");
    exchange.responded = true;
  };
  const start = (exchange: Exchange, target: HandoffTarget, request: RequestHead | null) => {
    claimResponse(exchange);
    exchange.note = `handed off to ${target.label}`;
    forward(exchange, target, request, tunnels, options.logger);
  };
  return {
    service: {
      /** `redirect_to_websocket_proxy*`: to a backend of the service. */
      backend: ({ exchange }, name: string, request: RequestHead | null) => {
        const backend = options.backends.get(name) ?? options.dynamicBackends.get(exchange, name);
        if (!backend) throw new HostError(Status.INVAL, `unknown backend ${name}`);
        start(exchange, backendTarget(backend), request);
      },
      /** `redirect_to_grip_proxy*`: to the local Pushpin, routed by the backend's name. */
      pushpin: ({ exchange }, name: string, request: RequestHead | null) => {
        const port = options.pushpinPort;
        if (port !== undefined) return start(exchange, pushpinTarget(name, port), request);
        // As in the reference emulator, the call succeeds and the client learns why nothing came.
        claimResponse(exchange);
        const reason = `a Fanout handoff (to "${name}") needs a local Pushpin: outpost serve --local-pushpin-proxy-port PORT`;
        options.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: ${reason}`);
        exchange.note = reason;
        answer(exchange, 502, reason);
      },
    },
    close() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
  };
}

function backendTarget(backend: Backend): HandoffTarget {
  const { config } = backend;
  const defaultPort = backend.port === (backend.ssl ? 443 : 80);
  const authority = backend.host.includes(":") ? `[${backend.host}]` : backend.host;
  const certHost = config.certHost ?? backend.host;
  return {
    label: `backend "${config.name}"`,
    host: backend.host,
    port: backend.port,
    tls: backend.ssl
      ? {
          servername: backend.sni ?? undefined,
          ca: config.caCertificates ? [...rootCertificates, ...config.caCertificates] : undefined,
          cert: config.clientCertificate?.cert,
          key: config.clientCertificate?.key,
          checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(certHost, cert),
        }
      : null,
    hostHeader: config.overrideHost ?? (defaultPort ? authority : `${authority}:${backend.port}`),
    pathPrefix: backend.pathPrefix,
    extraHeaders: [],
    connectTimeoutMs: config.connectTimeoutMs,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
  };
}

/** Pushpin on this machine: its routes pick the origin by the `pushpin-route` field (`id=<backend>`). */
function pushpinTarget(name: string, port: number): HandoffTarget {
  return {
    label: `Pushpin (route "${name}")`,
    host: "127.0.0.1",
    port,
    tls: null,
    hostHeader: `127.0.0.1:${port}`,
    pathPrefix: "",
    extraHeaders: [["pushpin-route", name]],
    connectTimeoutMs: 1_000,
    firstByteTimeoutMs: 15_000,
  };
}

/** The request the target gets: the client's, or the guest's with the client's handshake fields. */
function handoffRequest(exchange: Exchange, target: HandoffTarget, request: RequestHead | null): { method: string; path: string; headers: string[] } {
  const client = exchange.head.headers;
  const headers: string[] = [];
  const keep = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (lower !== "host" && !target.extraHeaders.some(([extra]) => extra === lower)) headers.push(name, value);
  };
  let method = exchange.method;
  let path = exchange.path;
  if (request) {
    method = request.method;
    const uri = new URL(request.uri, "http://localhost");
    path = uri.pathname + uri.search;
    for (let i = 0; i < client.length; i += 2) if (CLIENT_FIELDS.has(client[i].toLowerCase())) keep(client[i], client[i + 1]);
    for (let i = 0; i < request.headers.length; i += 2) {
      if (!CLIENT_FIELDS.has(request.headers[i].toLowerCase())) keep(request.headers[i], request.headers[i + 1]);
    }
  } else {
    for (let i = 0; i < client.length; i += 2) keep(client[i], client[i + 1]);
  }
  headers.unshift("Host", target.hostHeader);
  for (const [name, value] of target.extraHeaders) headers.push(name, value);
  const prefix = target.pathPrefix.replace(/\/+$/, "");
  return { method, path: prefix + (path.startsWith("/") ? path : `/${path}`), headers };
}

function forward(exchange: Exchange, target: HandoffTarget, guestRequest: RequestHead | null, tunnels: Set<Duplex>, logger: Logger): void {
  const { method, path, headers } = handoffRequest(exchange, target, guestRequest);
  const send = target.tls ? httpsRequest : httpRequest;
  const outgoing: ClientRequest = send({
    host: target.host,
    port: target.port,
    method,
    path,
    headers,
    setHost: false,
    agent: false,
    timeout: target.connectTimeoutMs,
    ...target.tls,
  });
  const failed = (message: string) => {
    logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: handoff to ${target.label} failed: ${message}`);
    exchange.note = `handoff to ${target.label} failed: ${message}`;
    answer(exchange, 502, `the handoff to ${target.label} failed: ${message}`);
  };
  outgoing.on("socket", (socket) => {
    // Connected: from now on the target has its first-byte timeout to answer.
    socket.once("connect", () => outgoing.setTimeout(target.firstByteTimeoutMs));
    socket.once("secureConnect", () => outgoing.setTimeout(target.firstByteTimeoutMs));
  });
  outgoing.on("timeout", () => outgoing.destroy(new Error("timed out")));
  // A client that leaves before the target answers takes the target's request with it.
  const clientLeft = () => outgoing.destroy();
  exchange.res.once("close", clientLeft);
  const answered = () => exchange.res.off("close", clientLeft);
  outgoing.once("response", answered);
  outgoing.once("upgrade", answered);
  outgoing.on("error", (error) => failed(error.message));
  outgoing.on("upgrade", (response: IncomingMessage, upstream: Duplex, upstreamHead: Buffer) => {
    outgoing.setTimeout(0);
    const client = upgradeOf(exchange.req);
    if (!client) {
      upstream.destroy();
      return failed(`it switched protocols (${response.statusCode}) for a client that did not ask to`);
    }
    exchange.res.statusCode = response.statusCode ?? 101;
    join(client.socket, client.head, upstream, upstreamHead, response, tunnels);
  });
  outgoing.on("response", (response: IncomingMessage) => {
    outgoing.setTimeout(0);
    const res = exchange.res;
    if (res.destroyed) return void response.destroy();
    try {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, passable(response.rawHeaders));
    } catch (error) {
      response.destroy();
      return failed(`its response could not be passed on: ${(error as Error).message}`);
    }
    // Either end closing early closes the other.
    pipeline(response, res, () => {});
  });
  // The client's body, when the guest left it unread (a WebSocket handshake has none).
  const req = exchange.req;
  if (exchange.body && !exchange.bodyTouched && !req.readableEnded) req.pipe(outgoing);
  else outgoing.end();
}

/** Joins the client's connection with the target's after a 101, until either closes. */
function join(client: Duplex, clientHead: Buffer, upstream: Duplex, upstreamHead: Buffer, response: IncomingMessage, tunnels: Set<Duplex>): void {
  const lines = [`HTTP/1.1 ${response.statusCode} ${response.statusMessage || "Switching Protocols"}`];
  const raw = response.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  client.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (clientHead.length > 0) upstream.write(clientHead);
  tunnels.add(client);
  tunnels.add(upstream);
  const close = () => {
    tunnels.delete(client);
    tunnels.delete(upstream);
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream]) {
    socket.on("error", close);
    socket.on("close", close);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

/** A response's fields less those node:http sets for the client connection. */
function passable(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "connection" || name === "keep-alive" || name === "transfer-encoding") continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** A short text answer from this host, when the client has had none yet. */
function answer(exchange: Exchange, status: number, text: string): void {
  const res = exchange.res;
  if (res.headersSent || res.destroyed) return void res.destroy();
  const body = `${text}\n`;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
