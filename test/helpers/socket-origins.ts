// Origins that the plain HTTP helper cannot be: an HTTPS origin that records
// what each TLS handshake carried, and a raw TCP origin that answers with
// whatever bytes (or misbehaviour) a test scripts.
import { createServer as createHttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";

export interface Handshake {
  /** The SNI name the client sent, or null for none. */
  servername: string | null;
}

export interface TlsOrigin {
  url: string;
  port: number;
  handshakes: Handshake[];
  close(): Promise<void>;
}

export interface TlsOriginOptions {
  cert: string;
  key: string;
  /** Ask for a client certificate signed by this CA. */
  clientCa?: string;
  /** Refuse the handshake without a valid client certificate (default: ask, but accept any). */
  requireClientCert?: boolean;
  maxVersion?: "TLSv1.2" | "TLSv1.3";
}

export async function startTlsOrigin(
  options: TlsOriginOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsOrigin> {
  const handshakes: Handshake[] = [];
  const server = createHttpsServer(
    {
      cert: options.cert,
      key: options.key,
      maxVersion: options.maxVersion,
      ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: options.requireClientCert ?? false } : {}),
    },
    handler,
  );
  server.on("secureConnection", (socket: TLSSocket) => {
    handshakes.push({ servername: typeof socket.servername === "string" ? socket.servername : null });
  });
  // A failed handshake (the client rejecting the certificate) is expected in some tests.
  server.on("tlsClientError", () => {});
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    handshakes,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TcpOrigin {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Calls `onRequest` once the first bytes of a request arrive on a connection. */
export async function startTcpOrigin(onRequest: (socket: Socket) => void): Promise<TcpOrigin> {
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", () => onRequest(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
