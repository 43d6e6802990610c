// The conformance suite's rig: a real origin on loopback whose answer each
// test scripts per path, the cache-proxy WAT guest in front of it, and a
// cache clock the test moves by hand (nothing sleeps to make things expire).
//
//   const h = await startHarness();
//   h.route("/a", (req, res) => res.end("x"));   // the origin's answer for /a
//   const r = await h.get("/a");                  // through guest and cache
//   h.clock.advance(61);                          // 61 s later, for the cache
//   h.originHits("/a");                           // requests /a reached the origin
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Origin, type ReceivedRequest, startOrigin } from "../../helpers/origin.ts";
import { serve, type TestServer, type TestServerOptions } from "../../helpers/outpost.ts";
import { type RawResponse, rawRequest } from "../../helpers/raw-client.ts";
import { watFixture } from "../../helpers/wat.ts";

/** A clock that moves only when told. Starts on a whole second so HTTP-dates (1 s resolution) are exact. */
export class FakeClock {
  ms = Date.UTC(2030, 0, 1, 12, 0, 0);
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  /**
   * Moves to the start of the next whole second. Tests call it first: an
   * origin's Date has whole seconds, so a clock between two seconds makes
   * every response look up to a second old (RFC 9111 §4.2.3 apparent_age).
   */
  nextSecond(): void {
    this.ms = Math.floor(this.ms / 1000) * 1000 + 1000;
  }
  /** The current time as an HTTP-date (RFC 9110 §5.6.7). */
  httpDate(offsetSeconds = 0): string {
    return new Date(this.ms + offsetSeconds * 1000).toUTCString();
  }
}

/** The origin's answer: `n` counts the requests for this path so far, this one included. */
export type Route = (req: IncomingMessage, res: ServerResponse, n: number, body: Buffer) => void | Promise<void>;

export interface Answer extends RawResponse {
  text: string;
  header(name: string): string | undefined;
}

export interface Harness {
  server: TestServer;
  origin: Origin;
  clock: FakeClock;
  route(path: string, handler: Route): void;
  /** The requests for `path` (path and query, or path alone) that reached the origin. */
  originRequests(path: string): ReceivedRequest[];
  originHits(path: string): number;
  /** A request through the guest and the cache, with exactly these headers (plus Host). */
  get(path: string, headers?: Record<string, string>): Promise<Answer>;
  request(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<Answer>;
  /** Purges a surrogate key through the guest (`fastly_purge`); both cache-proxy guests take `x-purge-key`. */
  purgeKey(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** The guest in front of the origin: cache-proxy.wat unless given. It must use backend "origin". */
  guest?: Uint8Array;
  /** Settings for the guest's server (see `serve`). */
  server?: Omit<TestServerOptions, "backends" | "clock">;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new FakeClock();
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const origin = await startOrigin(async (req, res, body) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    // The origin's clock is the cache's: Date (RFC 9110 §6.6.1) agrees with it unless a route says otherwise.
    res.sendDate = false;
    res.setHeader("date", clock.httpDate());
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(599, { "content-type": "text/plain" });
      res.end(`no route for ${path}\n`);
      return;
    }
    await handler(req, res, n, body);
  });
  const server = await serve(options.guest ?? watFixture("cache-proxy"), { ...options.server, backends: { origin: origin.url }, clock: clock.now });
  const matches = (url: string, path: string) => url === path || (!path.includes("?") && url.split("?")[0] === path);
  const request = async (method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> => {
    // Node frames DELETE and OPTIONS bodies only when given a length.
    const framing: Record<string, string> = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) };
    // Large enough for the response heads origins may send (the platform takes up to 69 KB).
    const response = await rawRequest(server.url + path, { method, headers: { ...framing, ...headers }, body, maxHeaderSize: 128 * 1024 });
    return Object.assign(response, {
      text: response.body.toString(),
      header: (name: string) => {
        const value = response.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(", ") : value;
      },
    });
  };
  return {
    server,
    origin,
    clock,
    route: (path, handler) => void routes.set(path, handler),
    originRequests: (path) => origin.requests.filter((r) => matches(r.url, path)),
    originHits: (path) => origin.requests.filter((r) => matches(r.url, path)).length,
    get: (path, headers) => request("GET", path, headers),
    request,
    async purgeKey(key) {
      const answer = await request("GET", "/", { "x-purge-key": key });
      if (answer.status !== 204) throw new Error(`purge answered ${answer.status}`);
    },
    async close() {
      await server.close();
      await origin.close();
    },
  };
}

/** A route answering `body` (default: which request this was) with these headers. */
export function fixed(headers: Record<string, string | string[]>, body?: string, status = 200): Route {
  return (_req, res, n) => {
    res.writeHead(status, headers);
    res.end(body ?? `response ${n}`);
  };
}

/** Waits until `check` passes (background work the test cannot await directly), or fails after a while. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
