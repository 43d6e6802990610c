// Serving HTTPS (`outpost serve --tls-cert --tls-key`) so that guests can
// read what the handshake established (`downstream_tls_*`). node:tls keeps
// the ClientHello to itself, so a plain TCP listener stands in front: it
// reads each connection's ClientHello, puts the bytes back, and hands the
// connection to the HTTPS server, which does the handshake as usual.
import type { RequestListener, ServerOptions as HttpServerOptions } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ClientCertVerifyResult } from "../abi/constants.ts";
import type { DownstreamTls } from "../engine/protocol.ts";
import { ja3Md5, ja4, parseClientHello, takeClientHello } from "./client-hello.ts";

export interface TlsIdentity {
  /** The server's certificate chain and key (PEM). */
  cert: string | Buffer;
  key: string | Buffer;
  /** CAs that client certificates are checked against (PEM); when given, clients are asked for one. */
  clientCa?: string | Buffer;
}

export interface TlsFront {
  /** The HTTPS server: requests, connections, keep-alive. */
  server: HttpsServer;
  /** What listens: the front that reads ClientHellos. */
  listener: NetServer;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

/** How long a new connection has to send its ClientHello. */
const HELLO_TIMEOUT_MS = 10_000;

/** ClientHellos of live connections, by the client's address and port. */
const hellos = new Map<string, Uint8Array>();
/** Each TLS connection's facts, read once for all of its requests. */
const facts = new WeakMap<TLSSocket, DownstreamTls>();

const connectionKey = (socket: { remoteAddress?: string; remotePort?: number }) => `${socket.remoteAddress}|${socket.remotePort}`;

export function createTlsFront(identity: TlsIdentity, options: HttpServerOptions, handler: RequestListener): TlsFront {
  const server = createHttpsServer(
    {
      ...options,
      cert: identity.cert,
      key: identity.key,
      ALPNProtocols: ["http/1.1"],
      // A client certificate is asked for and reported, never required: the guest decides.
      ...(identity.clientCa ? { ca: identity.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    },
    handler,
  );
  const sockets = new Set<Socket>();
  const listener = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    readClientHello(socket, server);
  });
  return {
    server,
    listener,
    async close() {
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      if (listener.listening) await new Promise((resolve) => listener.close(resolve));
    },
  };
}

function readClientHello(socket: Socket, server: HttpsServer): void {
  const chunks: Buffer[] = [];
  const key = connectionKey(socket);
  const handOver = (hello: Uint8Array | null) => {
    socket.off("data", onData);
    socket.setTimeout(0);
    socket.pause();
    if (hello) {
      hellos.set(key, hello);
      socket.once("close", () => hellos.delete(key));
    }
    socket.unshift(Buffer.concat(chunks));
    server.emit("connection", socket);
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    const found = takeClientHello(Buffer.concat(chunks));
    if (found === "more") return;
    // Not a ClientHello: the HTTPS server's handshake refuses it.
    handOver(found);
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
  socket.setTimeout(HELLO_TIMEOUT_MS, () => socket.destroy());
}

/** What the handshake of a request's connection established. */
export function tlsFactsOf(socket: TLSSocket): DownstreamTls {
  let known = facts.get(socket);
  if (known) return known;
  const helloBytes = hellos.get(connectionKey(socket)) ?? null;
  const hello = helloBytes ? parseClientHello(helloBytes) : null;
  const certificate = socket.getPeerX509Certificate();
  known = {
    protocol: socket.getProtocol() ?? "",
    cipher: socket.getCipher()?.name ?? "",
    serverName: typeof socket.servername === "string" && socket.servername ? socket.servername : null,
    clientHello: hello ? hello.bytes : null,
    ja3Md5: hello ? ja3Md5(hello) : null,
    ja4: hello ? ja4(hello) : null,
    clientCertificate: certificate ? certificate.toString() : null,
    clientCertVerify: certificate ? verifyResult(socket) : ClientCertVerifyResult.CERTIFICATE_MISSING,
  };
  facts.set(socket, known);
  return known;
}

/** OpenSSL's verdict on the client certificate, as `$client_cert_verify_result`. */
function verifyResult(socket: TLSSocket): number {
  if (socket.authorized) return ClientCertVerifyResult.OK;
  switch (String(socket.authorizationError ?? "")) {
    case "CERT_HAS_EXPIRED":
    case "CERT_NOT_YET_VALID":
      return ClientCertVerifyResult.CERTIFICATE_EXPIRED;
    case "CERT_REVOKED":
      return ClientCertVerifyResult.CERTIFICATE_REVOKED;
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return ClientCertVerifyResult.UNKNOWN_CA;
    case "CERT_SIGNATURE_FAILURE":
    case "CERT_UNTRUSTED":
    case "INVALID_CA":
      return ClientCertVerifyResult.BAD_CERTIFICATE;
    default:
      return ClientCertVerifyResult.CERTIFICATE_UNKNOWN;
  }
}
