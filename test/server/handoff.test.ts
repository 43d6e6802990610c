// WebSocket passthrough and Fanout handoff (`redirect_to_websocket_proxy*`,
// `redirect_to_grip_proxy*`): a guest hands its client's connection to a real
// WebSocket origin on loopback (the `ws` package), or to a local HTTP server
// standing where Pushpin would listen, and the client talks to it through
// Outpost.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

interface Seen {
  url: string;
  headers: IncomingMessage["headers"];
}

/** A WebSocket origin: greets each connection with the path it saw, then echoes. Plain requests get 426. */
async function startWebSocketOrigin(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url!, headers: req.headers });
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("websocket only\n");
  });
  const sockets = new WebSocketServer({ server });
  sockets.on("connection", (socket, req) => {
    seen.push({ url: req.url!, headers: req.headers });
    socket.send(`hello ${req.url}`);
    socket.on("message", (data, binary) => socket.send(binary ? data : `echo: ${data.toString()}`, { binary }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Sends raw bytes and reads the answer until it has a whole body (a Content-Length one). */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), hostname);
    let text = "";
    socket.on("data", (data) => {
      text += data.toString();
      const [head, body] = text.split("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(head ?? "")?.[1];
      if (body !== undefined && length !== undefined && body.length >= Number(length)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("error", reject);
    socket.write(bytes);
  });
}

/** Opens a WebSocket through Outpost and collects what arrives. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; next(): Promise<string> }> {
  const socket = new WebSocket(url, { headers });
  const queue: string[] = [];
  const waiting: ((text: string) => void)[] = [];
  socket.on("message", (data) => {
    const text = data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else queue.push(text);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  return {
    socket,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

describe("handing the client's connection off", () => {
  let origin: Awaited<ReturnType<typeof startWebSocketOrigin>>;
  let pushpin: Server;
  const pushpinSeen: Seen[] = [];
  let server: TestServer;
  let withoutPushpin: TestServer;

  beforeAll(async () => {
    origin = await startWebSocketOrigin();
    // Where Pushpin would listen: answers with a stream of two chunks.
    pushpin = createServer((req, res) => {
      pushpinSeen.push({ url: req.url!, headers: req.headers });
      res.writeHead(200, { "content-type": "text/plain", "grip-hold": "stream" });
      res.write("held ");
      setTimeout(() => res.end(`${req.method} ${req.url}\n`), 20);
    });
    await new Promise<void>((resolve) => pushpin.listen(0, "127.0.0.1", resolve));
    const pushpinPort = (pushpin.address() as AddressInfo).port;
    const backends = { ws: `${origin.url}/prefix` };
    server = await serve(watFixture("handoff"), { backends, pushpinPort });
    withoutPushpin = await serve(watFixture("handoff"), { backends: { ws: "http://127.0.0.1:1" } });
  });
  afterAll(async () => {
    await server?.close();
    await withoutPushpin?.close();
    await origin?.close();
    pushpin?.closeAllConnections();
    await new Promise((resolve) => pushpin?.close(resolve));
  });

  const wsUrl = (path: string) => server.url.replace(/^http/, "ws") + path;

  it("passes a WebSocket through to the backend as the client sent it (v1), both ways", async () => {
    const { socket, next } = await connect(wsUrl("/chat?room=1"), { "x-call": "w" });
    expect(await next()).toBe("hello /prefix/chat?room=1");
    socket.send("ping");
    expect(await next()).toBe("echo: ping");
    socket.send("pong");
    expect(await next()).toBe("echo: pong");
    socket.close();
    const handshake = origin.seen.find((s) => s.url === "/prefix/chat?room=1")!;
    expect(handshake.headers.host).toBe(new URL(origin.url).host);
    expect(handshake.headers["x-call"]).toBe("w");
    await expect.poll(() => server.logger.requests.find((r) => r.path === "/chat?room=1")).toMatchObject({ status: 101 });
  });

  it("passes the guest's own request (v2), keeping the client's handshake fields", async () => {
    const { socket, next } = await connect(wsUrl("/original"), { "x-call": "W" });
    // The guest changed the path and Sec-WebSocket-Key; the handshake still completed with the client's key.
    expect(await next()).toBe("hello /prefix/rewritten?by=guest");
    const handshake = origin.seen.find((s) => s.url === "/prefix/rewritten?by=guest")!;
    expect(handshake.headers["x-guest"]).toBe("yes");
    expect(handshake.headers["sec-websocket-key"]).not.toBe("guest");
    socket.close();
  });

  it("passes on whatever else the backend answers", async () => {
    const response = await server.get("/plain", { headers: { "x-call": "w" } });
    expect(response.status).toBe(426);
    expect(await response.text()).toBe("websocket only\n");
  });

  it("drops the target's request when the client leaves before it answers", async () => {
    let closed = false;
    const silent = createServer((req) => req.on("close", () => (closed = true)));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const extra = await serve(watFixture("handoff"), { backends: { ws: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` } });
    try {
      const abort = new AbortController();
      const pending = extra.get("/hang", { headers: { "x-call": "w" }, signal: abort.signal }).catch(() => null);
      await new Promise((resolve) => setTimeout(resolve, 200));
      abort.abort();
      await pending;
      await expect.poll(() => closed).toBe(true);
    } finally {
      await extra.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("tells the guest about a backend it does not have (inval), and the guest answers", async () => {
    const response = await server.get("/", { headers: { "x-call": "n" } });
    expect(await response.text()).toBe("status 2");
  });

  it("hands a request to the local Pushpin, routed by the backend's name, and streams its answer", async () => {
    const v1 = await server.get("/stream?x=1", { headers: { "x-call": "g" } });
    expect(await v1.text()).toBe("held GET /stream?x=1\n");
    expect(pushpinSeen.at(-1)!.headers["pushpin-route"]).toBe("ws");
    expect(pushpinSeen.at(-1)!.headers.host).toBe(`127.0.0.1:${(pushpin.address() as AddressInfo).port}`);
    const v2 = await server.get("/stream", { headers: { "x-call": "G" } });
    expect(await v2.text()).toBe("held GET /rewritten?by=guest\n");
    expect(pushpinSeen.at(-1)!.headers["x-guest"]).toBe("yes");
  });

  it("answers 502 with the reason when there is no Pushpin or the backend cannot be reached, and keeps serving", async () => {
    const fanout = await withoutPushpin.get("/", { headers: { "x-call": "g" } });
    expect(fanout.status).toBe(502);
    expect(await fanout.text()).toMatch(/needs a local Pushpin: outpost serve --local-pushpin-proxy-port PORT/);
    const refused = await withoutPushpin.get("/", { headers: { "x-call": "w" } });
    expect(refused.status).toBe(502);
    expect(await refused.text()).toMatch(/the handoff to backend "ws" failed: .*ECONNREFUSED/);
    await expect(connect(withoutPushpin.url.replace(/^http/, "ws") + "/", { "x-call": "w" })).rejects.toThrow(/status 502/);
    const again = await withoutPushpin.get("/", { headers: { "x-call": "n" } });
    expect(await again.text()).toBe("status 2");
  });

  it("leaves other upgrade requests plain (a POST with a body asking for websocket, h2c)", async () => {
    for (const head of [
      "POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello",
      "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    ]) {
      const answer = await rawExchange(server.url, head);
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toMatch(/\r\nConnection: keep-alive\r\n/);
      expect(answer.endsWith("\r\n\r\nstatus 9")).toBe(true);
    }
  });

  it("cuts open WebSockets when the server closes", async () => {
    const extra = await serve(watFixture("handoff"), { backends: { ws: origin.url } });
    const { socket, next } = await connect(extra.url.replace(/^http/, "ws") + "/bye", { "x-call": "w" });
    expect(await next()).toBe("hello /bye");
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await extra.close();
    await closed;
  });
});

describe.skipIf(!toolchain("js-compute"))("handoffs from a js-compute guest (fastly:websocket, fastly:fanout)", () => {
  let origin: Awaited<ReturnType<typeof startWebSocketOrigin>>;
  let server: TestServer;

  beforeAll(async () => {
    origin = await startWebSocketOrigin();
    server = await serve(await jsCompute("test/fixtures/js/handoff.js"), { backends: { ws: origin.url } });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("passes a WebSocket through with createWebsocketHandoff", async () => {
    const { socket, next } = await connect(server.url.replace(/^http/, "ws") + "/live");
    expect(await next()).toBe("hello /live");
    socket.send("from js");
    expect(await next()).toBe("echo: from js");
    socket.close();
  });

  it("answers a Fanout handoff without a local Pushpin with 502, and plain requests itself", async () => {
    expect((await server.get("/fanout")).status).toBe(502);
    const plain = await server.get("/");
    expect([plain.status, await plain.text()]).toEqual([400, "not a WebSocket\n"]);
  });
});
