// WebSocket handshakes reach the guest like any other request; node:http
// hands them over with the bare socket, so they get a ServerResponse of their
// own here. Other requests that ask to upgrade (h2c, a body before the
// switch) stay plain requests: node:http parses and answers them as usual. The guest may answer them
// as usual (the connection then closes after the response), or hand the
// connection to a backend (runtime/server/handoff.ts), which needs the socket
// and the bytes the client sent after its request head.
import { type IncomingMessage, type Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export interface UpgradeRequest {
  socket: Duplex;
  /** What the client sent after the request head (the first frames, usually nothing). */
  head: Buffer;
}

const upgrades = new WeakMap<IncomingMessage, UpgradeRequest>();

/** The socket of a request that asked to upgrade, or undefined for any other request. */
export function upgradeOf(req: IncomingMessage): UpgradeRequest | undefined {
  return upgrades.get(req);
}

/**
 * node:http's `shouldUpgradeCallback`: a WebSocket handshake (RFC 6455 §4.1:
 * a GET asking to upgrade to websocket, with no body) is taken with its socket.
 */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (req.method !== "GET" || !upgrade || !/(^|,)\s*websocket\s*(,|$)/i.test(upgrade)) return false;
  const length = req.headers["content-length"];
  return (length === undefined || length === "0") && req.headers["transfer-encoding"] === undefined;
}

/** Sends WebSocket handshakes (see isWebSocketHandshake) to `handle` too, with a response bound to their socket. */
export function acceptUpgrades(server: Server, handle: (req: IncomingMessage, res: ServerResponse) => void): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.set(req, { socket, head });
    socket.on("error", () => socket.destroy());
    const res = new ServerResponse(req);
    // node:http no longer parses this connection: one response, then it closes.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as never);
    res.on("finish", () => {
      res.detachSocket(socket as never);
      socket.end();
    });
    handle(req, res);
  });
}
