// The authority a request without a Host header (HTTP/1.0) reached: the
// server's own address and port, an IPv6 address in brackets (RFC 3986 §3.2.2).
import type { IncomingMessage } from "node:http";

export function localAuthority(req: IncomingMessage): string {
  const address = req.socket.localAddress ?? "";
  return `${address.includes(":") ? `[${address}]` : address}:${req.socket.localPort}`;
}
