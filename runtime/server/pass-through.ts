// Passing a client's request on to a target over a connection of its own,
// for those who leave the client's connection to it (a guest's WebSocket or
// Fanout handoff: handoff.ts; the no-code service's WebSockets:
// proxy-service.ts). A `101 Switching Protocols` from the target joins the
// two connections byte for byte until either end closes; any other response
// is passed to the client as it comes; a target that cannot be reached is
// reported through `failed`.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Duplex, pipeline, type Readable } from "node:stream";
import { checkServerIdentity, rootCertificates } from "node:tls";
import type { Backend } from "../backends/backend.ts";
import { upgradeOf } from "./upgrade-requests.ts";

/** Where a request goes, and how. */
export interface PassTarget {
  /** For messages: `backend "ws"`, `Pushpin (route "ws")`. */
  label: string;
  host: string;
  port: number;
  /** TLS options for an https target, or null. */
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

/** A backend as a target: its address, TLS settings, Host and path prefix, timeouts. */
export function backendTarget(backend: Backend): PassTarget {
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

/** Joined connections, cut together when the server closes. */
export class Tunnels {
  private readonly sockets = new Set<Duplex>();

  /** Joins the client's connection with the target's after a 101, until either closes. */
  join(client: Duplex, clientHead: Buffer, upstream: Duplex, upstreamHead: Buffer, response: IncomingMessage): void {
    const lines = [`HTTP/1.1 ${response.statusCode} ${response.statusMessage || "Switching Protocols"}`];
    const raw = response.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
    client.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const close = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
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

  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

export interface PassThrough {
  req: IncomingMessage;
  res: ServerResponse;
  target: PassTarget;
  method: string;
  /** Path and query, before the target's prefix. */
  path: string;
  /** Fields, without Host (the target's is added) and with the target's extra ones already in. */
  headers: string[];
  /** The request body to send, or null for none. */
  body: Readable | null;
  tunnels: Tunnels;
  /** The target could not be reached or gave no usable answer: the client has had no response yet. */
  failed(message: string): void;
}

export function passThrough(pass: PassThrough): void {
  const { target, res } = pass;
  const prefix = target.pathPrefix.replace(/\/+$/, "");
  const path = prefix + (pass.path.startsWith("/") ? pass.path : `/${pass.path}`);
  const send = target.tls ? httpsRequest : httpRequest;
  const outgoing: ClientRequest = send({
    host: target.host,
    port: target.port,
    method: pass.method,
    path,
    headers: ["Host", target.hostHeader, ...pass.headers],
    setHost: false,
    agent: false,
    timeout: target.connectTimeoutMs,
    ...target.tls,
  });
  outgoing.on("socket", (socket) => {
    // Connected: from now on the target has its first-byte timeout to answer.
    socket.once("connect", () => outgoing.setTimeout(target.firstByteTimeoutMs));
    socket.once("secureConnect", () => outgoing.setTimeout(target.firstByteTimeoutMs));
  });
  outgoing.on("timeout", () => outgoing.destroy(new Error("timed out")));
  // A client that leaves before the target answers takes the target's request with it.
  const clientLeft = () => outgoing.destroy();
  res.once("close", clientLeft);
  const answered = () => {
    res.off("close", clientLeft);
    outgoing.setTimeout(0);
  };
  outgoing.on("error", (error) => pass.failed(error.message));
  outgoing.on("upgrade", (response: IncomingMessage, upstream: Duplex, upstreamHead: Buffer) => {
    answered();
    const client = upgradeOf(pass.req);
    if (!client) {
      upstream.destroy();
      return pass.failed(`it switched protocols (${response.statusCode}) for a client that did not ask to`);
    }
    res.statusCode = response.statusCode ?? 101;
    pass.tunnels.join(client.socket, client.head, upstream, upstreamHead, response);
  });
  outgoing.on("response", (response: IncomingMessage) => {
    answered();
    if (res.destroyed) return void response.destroy();
    try {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, passable(response.rawHeaders));
    } catch (error) {
      response.destroy();
      return pass.failed(`its response could not be passed on: ${(error as Error).message}`);
    }
    // Either end closing early closes the other.
    pipeline(response, res, () => {});
  });
  if (pass.body) pass.body.pipe(outgoing);
  else outgoing.end();
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
export function answerText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const body = `${text}\n`;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
