// "Same guest source, different SDKs": the parity app of sdk/parity/README.md,
// written with the Rust SDK (sdk/parity/rust) and with the C header
// (sdk/parity/c), each built with its real toolchain and served behind the
// same origin. Every request gets the answer the spec gives, from both, byte
// for byte; and the origin sees the same proxied requests from both.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { cargo, clang, ROOT, type Toolchain, toolchain } from "../helpers/toolchains.ts";

interface Implementation {
  name: string;
  toolchain: Toolchain;
  source: string;
  build(): Promise<Uint8Array>;
}

const IMPLEMENTATIONS: Implementation[] = [
  { name: "rust", toolchain: "cargo", source: "sdk/parity/rust/main.rs", build: () => cargo("sdk/parity/rust", ["sdk/rust"]) },
  {
    name: "c",
    toolchain: "clang",
    source: "sdk/parity/c/main.c",
    build: () => clang("sdk/parity/c/main.c", ["sdk/c/include/outpost.h", "sdk/c/include/outpost_helpers.h"]),
  },
];
/** An implementation not written yet is skipped, not failed. */
const available = IMPLEMENTATIONS.filter((impl) => existsSync(join(ROOT, impl.source)) && toolchain(impl.toolchain));
const LIMITS = { cpuMs: 10_000 };
/** Headers the spec defines (content-length is the host's business). */
const COMPARED_HEADERS = ["content-type", "x-body-length", "x-parity-proxy", "x-origin"];
const BINARY = randomBytes(100 * 1024);

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

interface Case {
  name: string;
  path: string;
  init?: RequestInit;
  /** What the spec says, where a case pins it down. */
  expected?: Partial<Answer>;
}

const text = (status: number, body: string, type = "text/plain"): Partial<Answer> => ({ status, body, headers: { "content-type": type } });

const CASES: Case[] = [
  { name: "hello", path: "/hello", expected: text(200, "hello, world\n", "text/plain; charset=utf-8") },
  { name: "hello by POST", path: "/hello", init: { method: "POST", body: "ignored" }, expected: text(200, "hello, world\n", "text/plain; charset=utf-8") },
  {
    name: "echo text",
    path: "/echo?x=1",
    init: { method: "POST", body: "abc" },
    expected: { status: 200, body: Buffer.from("abc").toString("base64"), headers: { "content-type": "application/octet-stream", "x-body-length": "3" } },
  },
  {
    name: "echo 100 KB of binary",
    path: "/echo",
    init: { method: "PUT", body: BINARY },
    expected: { status: 200, body: BINARY.toString("base64"), headers: { "x-body-length": String(BINARY.length) } },
  },
  { name: "echo nothing", path: "/echo", expected: { status: 200, body: "", headers: { "x-body-length": "0" } } },
  { name: "headers", path: "/headers", init: { headers: { "x-b": "2", "x-a": "1", "X-Mixed-Case": "3" } } },
  { name: "status 200", path: "/status/200", expected: text(200, "status 200\n") },
  { name: "status 404", path: "/status/404", expected: text(404, "status 404\n") },
  { name: "status 599", path: "/status/599", expected: text(599, "status 599\n") },
  { name: "status 199", path: "/status/199", expected: text(400, "bad status\n") },
  { name: "status 600", path: "/status/600", expected: text(400, "bad status\n") },
  { name: "status 20", path: "/status/20", expected: text(400, "bad status\n") },
  { name: "status 2000", path: "/status/2000", expected: text(400, "bad status\n") },
  { name: "status abc", path: "/status/abc", expected: text(400, "bad status\n") },
  { name: "status +20", path: "/status/+20", expected: text(400, "bad status\n") },
  { name: "status empty", path: "/status/", expected: text(400, "bad status\n") },
  { name: "proxy root", path: "/proxy", expected: { status: 200, body: "origin: GET / ", headers: { "x-parity-proxy": "1", "x-origin": "yes" } } },
  { name: "proxy root with a query", path: "/proxy?q=1", expected: { status: 200, body: "origin: GET /?q=1 " } },
  { name: "proxy a path", path: "/proxy/a/b?c=d", expected: { status: 200, body: "origin: GET /a/b?c=d " } },
  {
    name: "proxy a POST with a body",
    path: "/proxy/upload",
    init: { method: "POST", body: "payload", headers: { "x-client": "kept" } },
    expected: { status: 201, body: "origin: POST /upload payload kept", headers: { "x-parity-proxy": "1" } },
  },
  { name: "not found", path: "/nowhere", expected: text(404, "not found\n") },
  { name: "not a proxy path", path: "/proxyfoo", expected: text(404, "not found\n") },
  { name: "not hello", path: "/hello/more", expected: text(404, "not found\n") },
];

async function ask(server: TestServer, c: Case): Promise<Answer> {
  const response = await server.get(c.path, c.init);
  const body = Buffer.from(await response.arrayBuffer());
  const headers = Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers.get(name)]));
  const binary = c.path.startsWith("/echo");
  return { status: response.status, headers, body: binary ? body.toString("base64") : body.toString("utf8") };
}

describe.skipIf(available.length === 0)("the parity app: one spec, every SDK", () => {
  let origin: Origin;
  const servers = new Map<string, { up: TestServer; down: TestServer }>();

  beforeAll(async () => {
    origin = await startOrigin((req, res, body) => {
      res.statusCode = req.url === "/upload" ? 201 : 200;
      res.setHeader("x-origin", "yes");
      const client = req.headers["x-client"];
      res.end(`origin: ${req.method} ${req.url} ${body}${client ? ` ${client}` : ""}`);
    });
    for (const impl of available) {
      const wasm = await impl.build();
      servers.set(impl.name, {
        up: await serve(wasm, { backends: { origin: origin.url }, limits: LIMITS }),
        down: await serve(wasm, { backends: { origin: "http://127.0.0.1:1" }, limits: LIMITS }),
      });
    }
  });
  afterAll(async () => {
    for (const { up, down } of servers.values()) await Promise.all([up.close(), down.close()]);
    await origin?.close();
  });

  it("has every implementation the spec lists (a missing one is skipped)", () => {
    const missing = IMPLEMENTATIONS.filter((impl) => !available.includes(impl)).map((impl) => impl.name);
    if (missing.length > 0) console.warn(`parity: not built (no source or toolchain): ${missing.join(", ")}`);
    expect(available.map((impl) => impl.name)).toContain(available[0].name);
  });

  it.each(CASES)("$name: the spec's answer, identical from every implementation", async (c) => {
    const answers: Record<string, Answer> = {};
    for (const impl of available) answers[impl.name] = await ask(servers.get(impl.name)!.up, c);
    const [first, ...others] = available.map((impl) => answers[impl.name]);
    for (const [i, other] of others.entries()) expect({ impl: available[i + 1].name, ...other }).toEqual({ impl: available[i + 1].name, ...first });
    if (c.expected) {
      const { headers, ...rest } = c.expected;
      expect(first).toMatchObject(rest);
      if (headers) expect(first.headers).toMatchObject(headers);
    }
  });

  it("lists the request's header names once each, lower case, sorted, one per line", async () => {
    const answer = await ask(servers.get(available[0].name)!.up, CASES.find((c) => c.name === "headers")!);
    const names = answer.body.split("\n");
    expect(names.pop()).toBe("");
    expect(names).toEqual([...new Set(names)].sort());
    expect(names).toEqual(expect.arrayContaining(["host", "x-a", "x-b", "x-mixed-case"]));
    expect(names.every((name) => name === name.toLowerCase())).toBe(true);
  });

  it("proxies the same requests to the origin from every implementation", async () => {
    const seen: string[][] = [];
    for (const impl of available) {
      const before = origin.requests.length;
      await ask(servers.get(impl.name)!.up, CASES.find((c) => c.name === "proxy a POST with a body")!);
      seen.push(origin.requests.slice(before).map((r) => `${r.method} ${r.url} ${r.body} ${r.headers["x-client"]}`));
    }
    for (const requests of seen) expect(requests).toEqual(["POST /upload payload kept"]);
  });

  it("answers 502 when the origin cannot be reached", async () => {
    for (const impl of available) {
      const response = await servers.get(impl.name)!.down.get("/proxy/x");
      expect({ impl: impl.name, status: response.status, body: await response.text(), type: response.headers.get("content-type") }).toEqual({
        impl: impl.name,
        status: 502,
        body: "origin unreachable\n",
        type: "text/plain",
      });
    }
  });
});
