// Starting an HTTP server on an address and saying where it can be reached;
// shared by the main server, the no-code service and the admin API.
import type { AddressInfo, Server } from "node:net";

/** Listens on host:port (0: a free port); rejects with the bind error (address in use, ...). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Where a listening server can be reached (an IPv6 host in brackets). */
export function listeningAt(server: Server, host: string, scheme: "http" | "https" = "http"): { url: string; port: number } {
  const { port } = server.address() as AddressInfo;
  return { url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`, port };
}
