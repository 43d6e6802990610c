// Guests written against the raw host-call ABI, in Rust (std only) and in C
// (wasi-libc): the same small app in both languages, each built by its real
// toolchain and served behind a real origin. One suite runs against both.
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abiFunction } from "../../runtime/abi/signatures.ts";
import { isKnownImport } from "../../runtime/engine/linker.ts";
import { readUleb, sections } from "../../runtime/engine/wasm-binary.ts";
import { type Origin, type OriginHandler, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { clang, rust, type Toolchain, toolchain } from "../helpers/toolchains.ts";

interface Guest {
  lang: string;
  toolchain: Toolchain;
  build(): Promise<Uint8Array>;
}

const GUESTS: Guest[] = [
  { lang: "rust", toolchain: "rust", build: () => rust("test/fixtures/rust/proxy.rs") },
  { lang: "c", toolchain: "clang", build: () => clang("test/fixtures/c/proxy.c") },
];

const BIG_BODY = randomBytes(1024 * 1024);
/**
 * These tests are about the ABI, not the CPU limit, whose clock is the wall
 * time a guest runs: on a machine loaded with other test files a cold guest
 * can be descheduled past the default 50 ms.
 */
const LIMITS = { cpuMs: 10_000 };
/** How long /async/a's origin answer lags behind /async/b's. */
const A_LAG_MS = 400;

describe.each(GUESTS)("a raw-ABI $lang guest", (guest) => {
  const present = toolchain(guest.toolchain);
  const test = it.skipIf(!present);
  const { lang } = guest;
  let wasm: Uint8Array;
  let origin: Origin;
  let server: TestServer;

  beforeAll(async () => {
    if (!present) return;
    wasm = await guest.build();
    origin = await startOrigin(originHandler());
    server = await serve(wasm, { backends: { origin: origin.url }, limits: LIMITS });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  test("imports only ABI and WASI functions, with the ABI's signatures", () => {
    const imports = functionImports(wasm);
    expect(imports.length).toBeGreaterThan(20);
    for (const entry of imports) {
      const where = `${entry.module}::${entry.name}`;
      expect(isKnownImport(entry.module, entry.name), where).toBe(true);
      const abi = abiFunction(entry.module, entry.name);
      if (abi) expect({ where, params: entry.params, results: entry.results }).toEqual({ where, params: abi.map((p) => p[1]), results: ["i32"] });
    }
    // The app reaches the parts of the ABI it was written for.
    const names = new Set(imports.map((entry) => `${entry.module}::${entry.name}`));
    for (const call of ["fastly_http_req::send", "fastly_http_req::pending_req_select", "fastly_http_req::header_names_get", "fastly_http_body::read"]) {
      expect(names).toContain(call);
    }
  });

  test("answers /hello with its body and a content type", async () => {
    const response = await server.get("/hello");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe(`hello from ${lang}`);
  });

  test("answers 404 for a path it does not route", async () => {
    const response = await server.get("/nowhere");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("not found\n");
  });

  test("forwards method, path, query, headers and body to the origin and tags both ways", async () => {
    const before = origin.requests.length;
    const response = await server.get("/proxy/api/items?sort=desc&x=1", {
      method: "POST",
      headers: { "content-type": "application/json", "x-client-header": "from the client" },
      body: '{"name":"widget"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-proxied-by")).toBe(lang);
    expect(response.headers.get("x-origin")).toBe("yes");
    const seen = await response.json();
    expect(seen).toMatchObject({ method: "POST", url: "/api/items?sort=desc&x=1", body: '{"name":"widget"}' });

    const received = origin.requests.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0].headers).toMatchObject({
      "x-guest": lang,
      "x-client-header": "from the client",
      "content-type": "application/json",
    });
    expect(received[0].body.toString()).toBe('{"name":"widget"}');
  });

  test("forwards methods longer than its first buffer and repeated headers", async () => {
    const response = await raw(server.url + "/proxy/things/7", {
      method: "DELETE",
      headers: ["X-Repeated", "one", "X-Repeated", "two", "X-A-Header-Name-Much-Longer-Than-Eight-Bytes", "long"],
    });
    expect(response.status).toBe(201);
    const seen = JSON.parse(response.body.toString());
    expect(seen.method).toBe("DELETE");
    expect(seen.url).toBe("/things/7");
    expect(seen.rawHeaders).toEqual(expect.arrayContaining([["x-repeated", "one"], ["x-repeated", "two"], ["x-a-header-name-much-longer-than-eight-bytes", "long"]]));
  });

  test("proxies the bare /proxy path as the origin's root and passes the origin's status through", async () => {
    const response = await server.get("/proxy?status=404");
    expect(response.status).toBe(404);
    expect(response.headers.get("x-proxied-by")).toBe(lang);
    expect((await response.json()).url).toBe("/?status=404");
  });

  test("streams a large origin body back unchanged", async () => {
    const response = await server.get("/proxy/big");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxied-by")).toBe(lang);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.byteLength).toBe(BIG_BODY.byteLength);
    expect(body.equals(BIG_BODY)).toBe(true);
  });

  test("answers 502 itself when the origin cannot be reached", async () => {
    const closed = await startOrigin(() => {});
    const url = closed.url;
    await closed.close();
    const isolated = await serve(wasm, { backends: { origin: url }, limits: LIMITS });
    try {
      const response = await isolated.get("/proxy/anything");
      expect(response.status).toBe(502);
      expect(await response.text()).toMatch(/^origin failed: status \d+\n$/);
    } finally {
      await isolated.close();
    }
  });

  test("echoes a body it reads in a loop, with its length", async () => {
    const payload = randomBytes(300 * 1024);
    const response = await server.get("/echo", { method: "POST", body: payload });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-body-length")).toBe(String(payload.byteLength));
    expect(Buffer.from(await response.arrayBuffer()).equals(payload)).toBe(true);
  });

  test("echoes an empty body", async () => {
    const response = await server.get("/echo", { method: "POST", body: "" });
    expect(response.headers.get("x-body-length")).toBe("0");
    expect(await response.text()).toBe("");
  });

  test("keeps concurrent requests apart", async () => {
    const bodies = Array.from({ length: 24 }, (_, i) => `request ${i} `.repeat(i * 50 + 1));
    const responses = await Promise.all(bodies.map((body) => server.get("/echo", { method: "POST", body })));
    const texts = await Promise.all(responses.map((response) => response.text()));
    expect(texts).toEqual(bodies);
  });

  test("lists every header name and value through the cursor protocol", async () => {
    const longName = "x-a-header-name-that-is-far-longer-than-the-guest-buffer-" + "z".repeat(200);
    const response = await raw(server.url + "/headers", {
      headers: ["X-Multi", "first", "X-Short", "1", longName, "long value", "X-Multi", "second", "X-Multi", "third"],
    });
    expect(response.status).toBe(200);
    const lines = response.body.toString().split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toEqual(
      expect.arrayContaining(["x-multi: first", "x-multi: second", "x-multi: third", "x-short: 1", `${longName}: long value`]),
    );
    expect(lines.filter((line) => line.startsWith("x-multi: "))).toEqual(["x-multi: first", "x-multi: second", "x-multi: third"]);
    expect(lines.some((line) => line.startsWith("host: 127.0.0.1:"))).toBe(true);
    // Every header the client sent, and nothing twice.
    expect(new Set(lines).size).toBe(lines.length);
  });

  test("runs two origin requests at once and combines their bodies", async () => {
    const before = origin.requests.length;
    const response = await server.get("/async");
    expect(response.status).toBe(200);
    // Each origin answer says whether the other request had arrived before it was answered.
    expect(await response.text()).toBe("a=a:together\nb=b:together\n");
    // b answers first (a lags), so select hands b over first.
    expect(response.headers.get("x-first")).toBe("b");
    const received = origin.requests.slice(before);
    expect(received.map((r) => r.url).sort()).toEqual(["/async/a", "/async/b"]);
    expect(received.every((r) => r.headers["x-guest"] === lang)).toBe(true);
  });

  test("writes to a log endpoint and to stdout", async () => {
    const response = await server.get("/log");
    expect(await response.text()).toBe("logged\n");
    await expect.poll(() => server.logger.lines.join("\n"), { timeout: 10_000 }).toMatch(`raw-abi :: endpoint line from ${lang}`);
    await expect.poll(() => server.logger.lines.join("\n"), { timeout: 10_000 }).toMatch(`stdout :: stdout line from ${lang}`);
  });

  test("streams a response it writes chunk by chunk", async () => {
    const response = await raw(server.url + "/stream");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/plain");
    expect(response.headers["transfer-encoding"]).toBe("chunked");
    expect(response.headers["content-length"]).toBeUndefined();
    expect(response.body.toString()).toBe(Array.from({ length: 5 }, (_, i) => `chunk ${i} from ${lang}\n`).join(""));
  });

  test("sees the platform's environment and the client's address", async () => {
    const response = await server.get("/env");
    expect(await response.text()).toBe("hostname=localhost\nservice_version=0\nclient_ip=127.0.0.1\n");
  });
});

/** The origin: /big sends a large chunked body, /async/{a,b} meet each other, anything else describes the request. */
function originHandler(): OriginHandler {
  let waiting: { name: string; release: () => void } | null = null;
  return async (req, res, body) => {
    const url = new URL(req.url ?? "/", "http://origin");
    if (url.pathname === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (let offset = 0; offset < BIG_BODY.byteLength; offset += 64 * 1024) {
        if (!res.write(BIG_BODY.subarray(offset, offset + 64 * 1024))) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
      return;
    }
    const pair = /^\/async\/([ab])$/.exec(url.pathname);
    if (pair) {
      const name = pair[1];
      // Wait (a while at most) for the other request of the pair: a guest that
      // sent them one after the other would only ever be "alone".
      const together = await new Promise<boolean>((resolve) => {
        if (waiting && waiting.name !== name) {
          waiting.release();
          waiting = null;
          resolve(true);
          return;
        }
        const timer = setTimeout(() => {
          waiting = null;
          resolve(false);
        }, 5_000);
        waiting = { name, release: () => (clearTimeout(timer), resolve(true)) };
      });
      if (name === "a") await new Promise((resolve) => setTimeout(resolve, A_LAG_MS));
      res.end(`${name}:${together ? "together" : "alone"}`);
      return;
    }
    const status = Number(url.searchParams.get("status") ?? 201);
    const rawHeaders: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
    res.writeHead(status, { "content-type": "application/json", "x-origin": "yes" });
    res.end(JSON.stringify({ method: req.method, url: req.url, rawHeaders, body: body.toString() }));
  };
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request through node:http, for what fetch cannot send or hides: repeated header lines, framing headers. */
function raw(url: string, options: { method?: string; headers?: string[]; body?: Buffer | string } = {}): Promise<RawResponse> {
  // Headers given as a list get none of node's defaults: Host is ours to send.
  const headers = ["Host", new URL(url).host, ...(options.headers ?? [])];
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

interface FunctionImport {
  module: string;
  name: string;
  params: string[];
  results: string[];
}

const VALUE_TYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };

/**
 * The function imports of a module with their types, read from the binary
 * (the JS API does not expose import types). Any non-function import fails.
 */
function functionImports(bytes: Uint8Array): FunctionImport[] {
  const all = sections(bytes);
  const name = (offset: number): [string, number] => {
    const [length, start] = readUleb(bytes, offset);
    return [Buffer.from(bytes.subarray(start, start + length)).toString("utf8"), start + length];
  };
  const types: { params: string[]; results: string[] }[] = [];
  const typeSection = all.find((s) => s.id === 1);
  if (typeSection) {
    let [count, offset] = readUleb(bytes, typeSection.contentStart);
    for (; count > 0; count--) {
      if (bytes[offset++] !== 0x60) throw new Error("unexpected type form");
      const vector = (): string[] => {
        const [n, next] = readUleb(bytes, offset);
        offset = next + n;
        return Array.from(bytes.subarray(next, next + n), (b) => VALUE_TYPES[b] ?? `0x${b.toString(16)}`);
      };
      const params = vector();
      types.push({ params, results: vector() });
    }
  }
  const out: FunctionImport[] = [];
  const importSection = all.find((s) => s.id === 2);
  if (!importSection) return out;
  let [count, offset] = readUleb(bytes, importSection.contentStart);
  for (; count > 0; count--) {
    const [module, afterModule] = name(offset);
    const [field, afterField] = name(afterModule);
    const kind = bytes[afterField];
    if (kind !== 0) throw new Error(`${module}::${field} is not a function import (kind ${kind})`);
    const [typeIndex, next] = readUleb(bytes, afterField + 1);
    out.push({ module, name: field, ...types[typeIndex] });
    offset = next;
  }
  return out;
}
