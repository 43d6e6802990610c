// The absolute URI a guest sees for its request: built from the Host header,
// or, for an HTTP/1.0 request without one, from the address the request
// reached, with an IPv6 address in brackets (RFC 3986 §3.2.2).
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningServer, startServer } from "../../runtime/server/start-server.ts";
import { watFixture } from "../helpers/wat.ts";

let server: RunningServer;
beforeAll(async () => {
  // reusable-sandbox.wat answers a counter and the URI it was given.
  server = await startServer({ wasm: watFixture("reusable-sandbox"), manifest: parseManifest("", null, process.cwd()), host: "::1", port: 0, logger: new MemoryLogger(), workers: 1 });
});
afterAll(() => server.close());

/** Sends `request` as raw bytes and returns the response's body (after the blank line). */
function raw(request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "::1", port: server.port });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => {
      const whole = Buffer.concat(chunks);
      resolve(whole.subarray(whole.indexOf("\r\n\r\n") + 4));
    });
    socket.on("error", reject);
    // HTTP/1.0: the server closes the connection after its response.
    socket.write(request);
  });
}

it("brackets an IPv6 server address when the request has no Host header", async () => {
  const body = await raw("GET /path?q=1 HTTP/1.0\r\n\r\n");
  expect(body.subarray(4).toString()).toBe(`http://[::1]:${server.port}/path?q=1`);
});

it("uses the Host header when there is one", async () => {
  const body = await raw("GET /x HTTP/1.0\r\nHost: example.com\r\n\r\n");
  expect(body.subarray(4).toString()).toBe("http://example.com/x");
});
