// Requests that ask to upgrade the connection (a WebSocket handshake) reach
// the guest like any other; node:http hands them over with the bare socket,
// so they get a ServerResponse of their own here. The guest may answer them
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

/** Sends requests that ask to upgrade to `handle` too, with a response bound to their socket. */
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
