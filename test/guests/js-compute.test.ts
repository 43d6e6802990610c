// JavaScript guests built with @fastly/js-compute (StarlingMonkey), run end to
// end: a real client, the real server, and real origins on loopback. These
// guests reach origins only through `send_async*` + `pending_req_wait_v2` and
// `fastly_async_io::select`, read headers with `header_values_get`, and
// stream bodies both ways.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";

const present = toolchain("js-compute");
const guest = (name: string) => jsCompute(`test/fixtures/js/${name}.js`);

const MiB = 1024 * 1024;

// Outpost charges a guest the wall-clock time of its slices between host
// calls as CPU time. A js-compute guest is SpiderMonkey compiled to Wasm
// (~11 MB, compiled lazily by V8 on first use): it needs 5–20 ms a request
// when the machine is idle, but preemption on a loaded 2-core machine can push
// that past the 50 ms default. These tests are about behaviour, not limits.
const limits = { cpuMs: 1_000 };
// One worker thread per server keeps start-up cheap; hello runs on two.
const workers = 1;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A loopback URL nothing listens on: connections to it are refused. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe.skipIf(!present)("js-compute: hello", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("hello"), { limits, workers: 2 });
  });
  afterAll(() => server?.close());

  it("answers with its fixed body and headers", async () => {
    const response = await server.get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("x-guest")).toBe("js-compute");
    expect(await response.text()).toBe("Hello from a JavaScript guest!\n");
  });

  it("answers many requests at once, each in its own instance", async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => server.get(`/n/${i}`)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    // A fresh instance per request: no guest state carries over.
    expect(responses.map((r) => r.headers.get("x-served"))).toEqual(Array(20).fill("1"));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies)).toEqual(new Set(["Hello from a JavaScript guest!\n"]));
  });
});

describe.skipIf(!present)("js-compute: the client request as the guest sees it", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("request-info"), { limits, workers });
  });
  afterAll(() => server?.close());

  it("sees the method, full URL with its query, headers and client address", async () => {
    const response = await server.get("/some/path?q=a%20b&flag", { headers: { "x-test": "hello", "x-other": "two" } });
    expect(response.status).toBe(200);
    const info = await response.json();
    expect(info.method).toBe("GET");
    expect(info.url).toBe(`${server.url}/some/path?q=a%20b&flag`);
    expect(info.headers).toMatchObject({ "x-test": "hello", "x-other": "two", host: new URL(server.url).host });
    expect(info.body).toBe("");
    expect(info.client).toBe("127.0.0.1");
    expect(info.server).toBe("127.0.0.1");
  });

  it("sees a header sent twice as one comma-joined value", async () => {
    const { hostname, port } = new URL(server.url);
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ hostname, port, path: "/twice", headers: ["host", `${hostname}:${port}`, "x-multi", "one", "x-multi", "two"] }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(text).headers["x-multi"]).toBe("one, two");
  });

  it("reads the request body of a PUT", async () => {
    const response = await server.get("/upload", { method: "PUT", body: "payload ✓", headers: { "content-type": "text/plain; charset=utf-8" } });
    const info = await response.json();
    expect(info.method).toBe("PUT");
    expect(info.body).toBe("payload ✓");
    expect(info.headers["content-type"]).toBe("text/plain; charset=utf-8");
  });

  it("reads FASTLY_* variables through fastly:env", async () => {
    const info = await (await server.get("/env")).json();
    expect(info.env).toEqual({ FASTLY_HOSTNAME: "localhost", FASTLY_POP: "LCL", FASTLY_SERVICE_VERSION: "0" });
  });
});

describe.skipIf(!present)("js-compute: a proxy to backend origin", () => {
  let origin: Origin;
  let server: TestServer;
  const big = randomBytes(5 * MiB);
  beforeAll(async () => {
    origin = await startOrigin((req, res, body) => {
      const path = new URL(req.url ?? "/", "http://origin").pathname;
      if (path === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.length });
        res.end(big);
        return;
      }
      if (path === "/upload-hash") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`${body.length} ${sha256(body)}`);
        return;
      }
      if (path === "/cookies") {
        res.setHeader("set-cookie", ["a=1; Path=/", "b=2; HttpOnly"]);
        res.end("two cookies");
        return;
      }
      const status = path.startsWith("/status/") ? Number(path.slice("/status/".length)) : 200;
      res.writeHead(status, { "content-type": "text/plain", "x-origin-tag": "tag-abc", "x-origin-only": "kept" });
      res.end(`origin saw ${req.method} ${req.url} with ${body.length} bytes`);
    });
    server = await serve(await guest("proxy"), { backends: { origin: origin.url }, limits, workers });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("adds and removes request headers, rewrites response headers, passes status and body", async () => {
    const response = await server.get("/hello", { headers: { "x-remove-me": "secret", "x-keep": "yes" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("origin saw GET /hello with 0 bytes");
    expect(response.headers.get("x-proxied-by")).toBe("js-guest");
    expect(response.headers.get("x-origin-tag")).toBe("TAG-ABC");
    expect(response.headers.get("x-origin-only")).toBe("kept");
    expect(response.headers.get("content-type")).toBe("text/plain");

    const seen = origin.requests.find((r) => r.url === "/hello")!;
    expect(seen.method).toBe("GET");
    expect(seen.headers["x-added-by-guest"]).toBe("outpost-test");
    expect(seen.headers["x-keep"]).toBe("yes");
    expect(seen.headers).not.toHaveProperty("x-remove-me");
  });

  it("passes the origin's status through", async () => {
    const notFound = await server.get("/status/404");
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe("origin saw GET /status/404 with 0 bytes");
    const created = await server.get("/status/201", { method: "POST", body: "x" });
    expect(created.status).toBe(201);
    await created.arrayBuffer();
  });

  it("keeps several Set-Cookie headers apart", async () => {
    const response = await server.get("/cookies");
    expect(await response.text()).toBe("two cookies");
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
  });

  it("passes the query string through unchanged", async () => {
    const response = await server.get("/search?q=a%20b&lang=en&empty=&flag");
    expect(await response.text()).toBe("origin saw GET /search?q=a%20b&lang=en&empty=&flag with 0 bytes");
    expect(origin.requests.some((r) => r.url === "/search?q=a%20b&lang=en&empty=&flag")).toBe(true);
  });

  it("passes a POST body and its content type through", async () => {
    const payload = JSON.stringify({ name: "outpost", items: [1, 2, 3] });
    const response = await server.get("/submit", { method: "POST", body: payload, headers: { "content-type": "application/json" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`origin saw POST /submit with ${Buffer.byteLength(payload)} bytes`);
    const seen = origin.requests.find((r) => r.url === "/submit")!;
    expect(seen.method).toBe("POST");
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.body.toString()).toBe(payload);
  });

  it("passes a 2 MB request body to the origin byte for byte", async () => {
    const upload = randomBytes(2 * MiB);
    const response = await server.get("/upload-hash", { method: "PUT", body: upload });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`${upload.length} ${sha256(upload)}`);
  });

  it("passes a 5 MB origin response to the client byte for byte", async () => {
    const response = await server.get("/big");
    expect(response.status).toBe(200);
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(big.length);
    expect(sha256(body)).toBe(sha256(big));
  });
});

describe.skipIf(!present)("js-compute: an origin that refuses connections", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("proxy"), { backends: { origin: await refusingUrl() }, limits, workers });
  });
  afterAll(() => server?.close());

  it("makes the guest's fetch reject, so the guest can answer 502 itself", async () => {
    const response = await server.get("/anything");
    expect(response.status).toBe(502);
    expect(response.headers.get("x-guest-caught")).toBe("1");
    expect(await response.text()).toMatch(/^origin unreachable: /);
    // The failure is the guest's to handle: the run itself ended normally.
    const again = await server.get("/again");
    expect(again.status).toBe(502);
    await again.arrayBuffer();
    await expect.poll(() => server.logger.requests.length).toBe(2);
    expect(server.logger.requests.every((entry) => entry.note === undefined)).toBe(true);
  });
});

describe.skipIf(!present)("js-compute: streaming the request body back", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("echo"), { limits, workers });
  });
  afterAll(() => server?.close());

  /**
   * Sends `chunks` as a chunked request body and collects the response. With
   * `awaitFirstEcho`, the rest of the body is sent only once the first chunk's
   * bytes have come back.
   */
  function echo(chunks: Buffer[], awaitFirstEcho = false): Promise<{ res: IncomingMessage; body: Buffer }> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ hostname, port, method: "POST", path: "/echo", headers: { "transfer-encoding": "chunked" } });
      let firstEchoed!: () => void;
      const firstEcho = new Promise<void>((done) => (firstEchoed = done));
      req.on("response", (res) => {
        const received: Buffer[] = [];
        let length = 0;
        res.on("data", (chunk: Buffer) => {
          received.push(chunk);
          length += chunk.length;
          if (length >= chunks[0].length) firstEchoed();
        });
        res.on("end", () => resolve({ res, body: Buffer.concat(received) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      const writeAll = async () => {
        req.write(chunks[0]);
        if (awaitFirstEcho) await firstEcho;
        for (const chunk of chunks.slice(1)) {
          if (!req.write(chunk)) await new Promise((drained) => req.once("drain", drained));
        }
        req.end();
      };
      writeAll().catch(reject);
    });
  }

  it("echoes a 4 MB chunked body byte for byte", async () => {
    const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
    const sent = Buffer.concat(chunks);
    const { res, body } = await echo(chunks);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect(body.length).toBe(sent.length);
    expect(sha256(body)).toBe(sha256(sent));
  });

  it("starts answering before the client has finished sending", async () => {
    const first = Buffer.from("first chunk\n");
    const rest = Array.from({ length: 8 }, (_, i) => Buffer.from(`chunk ${i}\n`));
    // Only the first chunk is sent until its echo is back: a guest that waited for the whole body would hang here.
    const { body } = await echo([first, ...rest], true);
    expect(body.toString()).toBe(Buffer.concat([first, ...rest]).toString());
  });
});

describe.skipIf(!present)("js-compute: parallel backend requests", () => {
  const DELAY_MS = 400;
  const COUNT = 5;
  let origin: Origin;
  let server: TestServer;
  let inFlight = 0;
  let peak = 0;
  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(DELAY_MS);
      inFlight--;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`answer:${req.url}`);
    });
    server = await serve(await guest("parallel"), { backends: { origin: origin.url }, limits, workers });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("runs the fetches of a Promise.all concurrently and combines their answers", async () => {
    const response = await server.get(`/?n=${COUNT}`);
    expect(response.status).toBe(200);
    const expected = Array.from({ length: COUNT }, (_, i) => `answer:/item/${i}`).join(",");
    expect(await response.text()).toBe(expected);
    // Every fetch was at the origin at the same time…
    expect(peak).toBe(COUNT);
    // …so together they took far less than one after another would (COUNT × DELAY_MS).
    const elapsed = Number(response.headers.get("x-elapsed-ms"));
    expect(elapsed).toBeGreaterThanOrEqual(DELAY_MS - 50);
    expect(elapsed).toBeLessThan(COUNT * DELAY_MS - DELAY_MS);
  });
});

describe.skipIf(!present)("js-compute: a large generated response", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("stream"), { limits, workers });
  });
  afterAll(() => server?.close());

  /** What the guest's ReadableStream produces (see stream.js). */
  function expected(total: number): Buffer {
    const chunkSize = 64 * 1024;
    const pattern = Buffer.alloc(chunkSize);
    for (let j = 0; j < chunkSize; j++) pattern[j] = (j * 7 + (j >>> 8)) & 255;
    const out = Buffer.alloc(total);
    for (let offset = 0; offset < total; offset += chunkSize) {
      const size = Math.min(chunkSize, total - offset);
      pattern.copy(out, offset, 0, size);
      if (size >= 4) out.writeUInt32BE(offset / chunkSize, offset);
    }
    return out;
  }

  it("streams 5 MB from a ReadableStream to the client intact", async () => {
    const total = 5 * MiB;
    const response = await server.get(`/?bytes=${total}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(total);
    expect(sha256(body)).toBe(sha256(expected(total)));
  });
});

describe.skipIf(!present)("js-compute: logging", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("logging"), { limits, workers });
  });
  afterAll(() => server?.close());

  /** The request id the server gave the request for `path`, once it has been logged. */
  async function ridOf(path: string): Promise<number> {
    await expect.poll(() => server.logger.requests.some((entry) => entry.path === path)).toBe(true);
    return server.logger.requests.find((entry) => entry.path === path)!.rid;
  }

  it("tags console output and fastly:logger lines with their request", async () => {
    const [a, b] = await Promise.all([server.get("/?id=first"), server.get("/?id=second")]);
    expect(await a.text()).toBe("logged first\n");
    expect(await b.text()).toBe("logged second\n");
    for (const id of ["first", "second"]) {
      const rid = await ridOf(`/?id=${id}`);
      await expect.poll(() => server.logger.lines).toContain(`#${rid} audit :: audit line ${id}`);
      expect(server.logger.lines).toContain(`#${rid} stdout :: console line ${id}`);
      // js-compute writes console.error to stdout as well; accept either stream.
      expect(server.logger.lines.some((line) => new RegExp(`^#${rid} std(out|err) :: error line ${id}$`).test(line))).toBe(true);
    }
  });
});

describe.skipIf(!present)("js-compute: a guest that fails", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(await guest("errors"), { limits, workers });
  });
  afterAll(() => server?.close());

  it("answers 500 when the handler throws, and logs the error", async () => {
    const response = await server.get("/throw");
    expect(response.status).toBe(500);
    await response.arrayBuffer();
    await expect.poll(() => server.logger.lines.some((line) => /^#\d+ stderr :: .*thrown by the guest/.test(line))).toBe(true);
  });

  it("answers 500 when respondWith gets a rejected promise", async () => {
    const response = await server.get("/reject");
    expect(response.status).toBe(500);
    await response.arrayBuffer();
  });

  it("keeps serving other requests afterwards", async () => {
    const response = await server.get("/ok");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("fine\n");
  });
});
