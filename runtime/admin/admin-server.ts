// The admin API's own HTTP server, apart from the serving address so that it
// can stay on loopback (or be turned off) whatever the serving address is.
import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { listen, listeningAt } from "../net/listen.ts";
import type { Logger } from "../server/logger.ts";
import { adminApi, type AdminApiOptions } from "./admin-api.ts";

export interface AdminAddress {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Carry on without the admin API when the address is taken (as for the default address). */
  optional?: boolean;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The admin API could not listen where it was asked to. */
export class AdminListenError extends Error {
  readonly address: string;
  readonly code: string | undefined;
  constructor(address: string, cause: NodeJS.ErrnoException) {
    super(`the admin API cannot listen on ${address}: ${cause.message}`, { cause });
    this.address = address;
    this.code = cause.code;
  }
}

/** Starts the admin API; null when an optional address is taken. */
export async function startAdminServer(address: AdminAddress, options: AdminApiOptions & { logger: Logger }): Promise<AdminServer | null> {
  const app = adminApi(options);
  // Leave the process's global Request/Response alone: the server embeds in other programs and tests.
  const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  const where = `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  try {
    await listen(server, address.port, address.host);
  } catch (error) {
    if (address.optional && (error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      options.logger.warn(`admin API not started: ${where} is in use (another outpost serve?); choose an address with --admin-addr`);
      return null;
    }
    throw new AdminListenError(where, error as NodeJS.ErrnoException);
  }
  if (!isLoopback(address.host) && options.token === undefined) {
    options.logger.warn(`the admin API listens on ${where} without a token: anyone who can reach it can purge; set --admin-token`);
  }
  return {
    ...listeningAt(server, address.host),
    close: () => closeServer(server),
  };
}


function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Whether a listening address is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
