// WebSockets through the no-code service (`serve --origin`): the handshake
// goes to the origin with its Connection and Upgrade fields and X-Forwarded-*,
// and the connections are joined after the origin's 101 (a real WebSocket
// origin, the `ws` package, and a real client).
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningOriginServer, startServer } from "../../runtime/server/start-server.ts";

describe("the no-code service and WebSockets", () => {
  const seen: IncomingMessage["headers"][] = [];
  const origin = createServer((_req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end("plain page\n");
  });
  const sockets = new WebSocketServer({ server: origin });
  let server: RunningOriginServer;
  let logger: MemoryLogger;

  beforeAll(async () => {
    sockets.on("connection", (socket, req) => {
      seen.push(req.headers);
      socket.send(`origin has ${req.url}`);
      socket.on("message", (data) => socket.send(`echo: ${data.toString()}`));
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    logger = new MemoryLogger();
    server = await startServer({ origin: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/app`, port: 0, logger });
  });
  afterAll(async () => {
    await server?.close();
    for (const client of sockets.clients) client.terminate();
    sockets.close();
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  });

  it("passes a WebSocket through to the origin, both ways, and logs it when it closes", async () => {
    const socket = new WebSocket(server.url.replace(/^http/, "ws") + "/live?x=1", { headers: { "x-client": "yes" } });
    const messages: string[] = [];
    const next = () => new Promise<string>((resolve) => socket.once("message", (data) => resolve(data.toString())));
    const greeting = next();
    await new Promise((resolve, reject) => (socket.once("open", resolve), socket.once("error", reject)));
    messages.push(await greeting);
    const echo = next();
    socket.send("ping");
    messages.push(await echo);
    expect(messages).toEqual(["origin has /app/live?x=1", "echo: ping"]);
    expect(seen[0]).toMatchObject({ "x-client": "yes", "x-forwarded-proto": "http", host: new URL(server.origin).host });
    expect(seen[0]["x-forwarded-for"]).toMatch(/127\.0\.0\.1/);
    socket.close();
    await expect.poll(() => logger.requests.find((r) => r.path === "/live?x=1")).toMatchObject({ method: "GET", status: 101 });
  });

  it("keeps caching plain requests", async () => {
    await (await fetch(server.url + "/page")).text();
    const hit = await fetch(server.url + "/page");
    expect([hit.headers.get("x-cache"), await hit.text()]).toEqual(["HIT", "plain page\n"]);
  });

  it("answers 502 when the origin cannot take the WebSocket", async () => {
    const broken = await startServer({ origin: "http://127.0.0.1:1", port: 0, logger: new MemoryLogger() });
    try {
      const socket = new WebSocket(broken.url.replace(/^http/, "ws") + "/");
      const status = await new Promise<number>((resolve) => socket.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(502);
    } finally {
      await broken.close();
    }
  });
});
