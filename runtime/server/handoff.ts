// Handing a client's connection to a backend or to a local Pushpin, as the
// guest asked (`redirect_to_websocket_proxy*`, `redirect_to_grip_proxy*`;
// runtime/hostcalls/handoff.ts): the request the target gets, passed on by
// pass-through.ts (a 101 joins the connections: a WebSocket passthrough).
// This outlives the guest, which may end as soon as it has asked.
import { HostError, Status } from "../abi/status.ts";
import type { Backends } from "../backends/backend.ts";
import type { DynamicBackends } from "../backends/dynamic.ts";
import type { RequestHead } from "../engine/protocol.ts";
import type { Exchange } from "./exchange.ts";
import type { HostService } from "./host-services.ts";
import type { Logger } from "./logger.ts";
import { answerText, backendTarget, passThrough, type PassTarget, Tunnels } from "./pass-through.ts";

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

export interface HandoffOptions {
  backends: Backends;
  dynamicBackends: DynamicBackends;
  /** `--local-pushpin-proxy-port`: where a local Pushpin listens, for Fanout handoffs. */
  pushpinPort?: number;
  logger: Logger;
}

/** The `handoff` host service, and `close` to cut the connections it still carries. */
export function handoffService(options: HandoffOptions): { service: HostService; close(): void } {
  const tunnels = new Tunnels();
  /** The handoff is the request's response: there can be no other. */
  const claimResponse = (exchange: Exchange) => {
    if (exchange.responded) throw new HostError(Status.ERROR, "a response was already sent to the client");
    exchange.responded = true;
  };
  const start = (exchange: Exchange, target: PassTarget, request: RequestHead | null) => {
    claimResponse(exchange);
    exchange.note = `handed off to ${target.label}`;
    const { method, path, headers } = handoffRequest(exchange, target, request);
    const req = exchange.req;
    passThrough({
      req,
      res: exchange.res,
      target,
      method,
      path,
      headers,
      // The client's body, when the guest left it unread (a WebSocket handshake has none).
      body: exchange.body && !exchange.bodyTouched && !req.readableEnded ? req : null,
      tunnels,
      failed(message) {
        options.logger.error(`#${exchange.rid} ${exchange.method} ${exchange.path}: handoff to ${target.label} failed: ${message}`);
        exchange.note = `handoff to ${target.label} failed: ${message}`;
        answerText(exchange.res, 502, `the handoff to ${target.label} failed: ${message}`);
      },
    });
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
        answerText(exchange.res, 502, reason);
      },
    },
    close: () => tunnels.closeAll(),
  };
}

/** Pushpin on this machine: its routes pick the origin by the `pushpin-route` field (`id=<backend>`). */
function pushpinTarget(name: string, port: number): PassTarget {
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
function handoffRequest(exchange: Exchange, target: PassTarget, request: RequestHead | null): { method: string; path: string; headers: string[] } {
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
  for (const [name, value] of target.extraHeaders) headers.push(name, value);
  return { method, path, headers };
}
