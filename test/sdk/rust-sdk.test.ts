// The Rust SDK (sdk/rust) end to end: test/fixtures/rust-sdk is an app that
// uses every part of it, built with cargo and served by a real Outpost
// behind a real origin. Pure parts (the JSON reader, URI helpers) are also
// unit-tested natively with rustc --test.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abiFunction } from "../../runtime/abi/signatures.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { cargo, ROOT, TOOLCHAINS, toolchain } from "../helpers/toolchains.ts";

const run = promisify(execFile);
const present = toolchain("cargo");
const test = it.skipIf(!present);
/** The CPU limit is wall time under load; these tests are not about it. */
const LIMITS = { cpuMs: 10_000 };

function manifest(origin: Origin): string {
  return `
[local_server.backends.origin]
url = "${origin.url}"
[local_server.backends.dead]
url = "http://127.0.0.1:1"

[local_server.config_stores.settings]
format = "inline-toml"
[local_server.config_stores.settings.contents]
greeting = "hi"

[local_server.secret_stores]
keys = [{ key = "api", data = "s3cr3t" }]

[local_server.kv_stores]
data = [{ key = "seeded", data = "from the manifest" }]

[local_server.geolocation]
format = "inline-toml"
[local_server.geolocation.addresses."203.0.113.7"]
city = "Berlin"
country_code = "DE"
latitude = 52.52
utc_offset = 100
as_number = 64500
extra = "kept"
`;
}

describe.skipIf(!present)("the Rust SDK", () => {
  let origin: Origin;
  let server: TestServer;
  const counts = new Map<string, number>();

  beforeAll(async () => {
    const wasm = await cargo("test/fixtures/rust-sdk", ["sdk/rust"]);
    origin = await startOrigin(async (req, res, body) => {
      const path = (req.url ?? "").split("?")[0];
      counts.set(path, (counts.get(path) ?? 0) + 1);
      if (path === "/slow") await new Promise((resolve) => setTimeout(resolve, 400));
      if (path === "/upstream") res.setHeader("x-origin", "yes");
      if (path === "/upload") res.setHeader("x-upload-length", String(body.length));
      const answers: Record<string, string> = {
        "/upstream": `${req.method} ${req.url} ${body}`,
        "/upload": `${req.method} ${req.url} ${req.headers["x-client"]} ${body.length}`,
        "/slow": "slow",
        "/fast": "fast",
        "/dyn": `host=${req.headers.host}`,
        "/cached": `cached #${counts.get(path)}`,
        "/cached-pass": `pass #${counts.get(path)}`,
      };
      res.end(answers[path] ?? "?");
    });
    server = await serve(wasm, { manifest: manifest(origin), limits: LIMITS, clientIpHeader: true });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  test("reads the client request: method, URI parts, query, multi-value headers", async () => {
    const text = await rawGet(server.url, "/request?x=1&y=two", [["x-multi", "a"], ["x-multi", "b"], ["x-single", "s"]]);
    const { port } = new URL(server.url);
    expect(text).toBe(
      [
        "method=GET",
        `uri=http://127.0.0.1:${port}/request?x=1&y=two`,
        "path=/request",
        "query=x=1&y=two",
        "y=two",
        `authority=127.0.0.1:${port}`,
        "from_client=true",
        "x-multi=a|b",
        "has x-multi=true has x-none=false",
        "x-none=None",
        "x-names=x-multi,x-single",
        "",
      ].join("\n"),
    );
  });

  test("builds a response: status, set/append/remove headers, header lists", async () => {
    const response = await server.get("/response-headers");
    expect(response.status).toBe(201);
    expect(response.headers.get("x-a")).toBe("1, 2");
    expect(response.headers.get("x-b")).toBeNull();
    expect(response.headers.get("x-c")).toBe("3, 4");
    expect(await response.text()).toBe("status=201 x-a=1,2 removed=true removed_missing=false pairs=x-a:1;x-a:2;x-c:3;x-c:4\n");
  });

  test("bodies are Read and Write streams: a 1 MB body copied through, framed front and back", async () => {
    const payload = Buffer.alloc(1024 * 1024, "z");
    const response = await server.get("/echo", { method: "POST", body: payload });
    expect(response.headers.get("x-copied")).toBe(String(payload.length));
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(payload.length + 2);
    expect(body.subarray(0, 1).toString()).toBe("[");
    expect(body.subarray(-1).toString()).toBe("]");
    expect(body.subarray(1, -1).equals(payload)).toBe(true);
  });

  test("streams a response to the client; an abandoned stream ends the body early", async () => {
    const response = await server.get("/stream");
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(await response.text()).toBe("head\nchunk 0\nchunk 1\nchunk 2\nappended\n");
    const abandoned = await server.get("/stream-abandon");
    await expect(abandoned.text()).rejects.toThrow();
  });

  test("sends a request it built to a named backend and reads the response", async () => {
    const response = await server.get("/send");
    expect(await response.text()).toBe("status=200 body=POST /upstream?from=sdk sent body x-origin=yes\n");
    const received = origin.requests.find((r) => r.url === "/upstream?from=sdk");
    expect(received?.headers["x-sdk"]).toBe("1");
  });

  test("forwards the client's request and body to the origin, and the answer back", async () => {
    const response = await server.get("/forward?keep=1", { method: "PUT", body: "client body", headers: { "x-client": "c" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-upload-length")).toBe("11");
    expect(await response.text()).toBe("PUT /upload c 11");
  });

  test("runs requests concurrently: select answers the first to finish, wait the other", async () => {
    const started = Date.now();
    const response = await server.get("/async");
    expect(await response.text()).toBe("first_index=1 first=fast second=slow\n");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("polls a pending request before waiting for it", async () => {
    expect(await (await server.get("/poll")).text()).toBe("pending_at_first_poll=true body=slow\n");
  });

  test("registers a dynamic backend and sends to it", async () => {
    const target = `127.0.0.1:${origin.port}`;
    const response = await server.get(`/dynamic?target=${target}`);
    expect(await response.text()).toBe("exists=true dynamic=true again_status=Some(Error) status=200 body=host=dynamic.example\n");
  });

  test("describes a declared backend", async () => {
    const response = await server.get("/backend");
    expect(await response.text()).toBe(`host=127.0.0.1 port=${origin.port} ssl=false dynamic=false health=Unknown missing=true\n`);
  });

  test("reports why a backend request failed", async () => {
    const text = await (await server.get("/send-errors")).text();
    expect(text).toContain("dead=Some(Send { status: Error, cause: ConnectionRefused })");
    expect(text).toContain("unknown=Some(Send { status: Inval, cause: ");
    expect(text).toContain("pending=Some(Send { status: Error, cause: ConnectionRefused })");
  });

  test("cache overrides: a TTL caches, a surrogate-key purge evicts, pass always goes to the origin", async () => {
    expect(await (await server.get("/cache/ttl")).text()).toBe("cached #1");
    expect(await (await server.get("/cache/ttl")).text()).toBe("cached #1");
    expect(await (await server.get("/cache/purge")).text()).toBe("purged\n");
    expect(await (await server.get("/cache/ttl")).text()).toBe("cached #2");
    expect(await (await server.get("/cache/pass")).text()).toBe("pass #1");
    expect(await (await server.get("/cache/pass")).text()).toBe("pass #2");
  });

  test("reads config stores", async () => {
    expect(await (await server.get("/config?key=greeting")).text()).toBe('value=Some("hi") contains=true unknown_store=Some(Badf)\n');
    expect(await (await server.get("/config?key=nope")).text()).toBe("value=None contains=false unknown_store=Some(Badf)\n");
  });

  test("reads secret stores and makes secrets from bytes", async () => {
    expect(await (await server.get("/secret?name=api")).text()).toBe('value="s3cr3t" from_bytes=made here unknown_store_not_found=Some(true)\n');
    expect(await (await server.get("/secret?name=nope")).text()).toBe("value=none from_bytes=made here unknown_store_not_found=Some(true)\n");
  });

  test("KV stores: insert with metadata, lookup, generations, modes, list pages, delete", async () => {
    const text = await (await server.get("/kv")).text();
    expect(text).toBe(
      [
        "metadata_ok=true generation=1",
        "value=1",
        "stale_cas=Some(PreconditionFailed)",
        "add_existing=Some(PreconditionFailed)",
        "after_append=true metadata_len=0",
        "value=12",
        "keys=a,b,c/1,c/2,c/3,seeded",
        "c_keys=c/1,c/2,c/3",
        "page=c/1,c/2 more=true",
        "next=c/3 more=false",
        "delete_again=Some(NotFound) not_found=true",
        "lookup_deleted=true",
        "seeded=from the manifest",
        "unknown_store=Some(Inval)",
        "",
      ].join("\n"),
    );
  });

  test("writes to log endpoints, one message per line", async () => {
    const response = await server.get("/log");
    expect(await response.text()).toBe("logged reserved=Some(Inval)\n");
    await expect.poll(() => server.logger.lines.filter((line) => line.includes("sdk-log ::")).map((line) => line.replace(/^#\d+ /, ""))).toEqual([
      "sdk-log :: one message",
      "sdk-log :: line 2",
      "sdk-log :: partial",
    ]);
    expect(server.logger.lines.some((line) => /stdout :: stdout from the sdk$/.test(line))).toBe(true);
  });

  test("knows the client's address and where it is", async () => {
    const located = await server.get("/geo", { headers: { "x-outpost-client-ip": "203.0.113.7" } });
    expect(await located.text()).toBe('ip=203.0.113.7 city=Some("Berlin") country=Some("DE") lat=Some(52.52) offset=Some(100) as_number=Some(64500) extra=Some("kept")\n');
    const unknown = await server.get("/geo", { headers: { "x-outpost-client-ip": "198.51.100.1" } });
    expect(await unknown.text()).toBe("ip=198.51.100.1 geo=none\n");
  });

  test("parses JSON with its small reader", async () => {
    const ok = await server.get("/json", { method: "POST", body: '{"name": "caf\\u00e9", "n": 42, "more": [true, null, {"x": -1.5e3}]}' });
    expect(await ok.text()).toBe('name=Some("café") n=Some(42)\n');
    const bad = await server.get("/json", { method: "POST", body: '{"name": }' });
    expect(await bad.text()).toBe("error=invalid JSON at byte 9: expected a value\n");
  });

  test("the pure modules' unit tests pass natively", async () => {
    const out = join(ROOT, "test/.build", `sdk-unit-${process.pid}`);
    await run(TOOLCHAINS.rust, ["--edition", "2021", "--test", "-o", out, join(ROOT, "test/sdk/rust-sdk-unit.rs")]);
    const { stdout } = await run(out, []);
    expect(stdout).toMatch(/test result: ok\. [1-9]\d* passed; 0 failed/);
  });
});

describe("the Rust SDK's raw bindings (sdk/rust/src/abi.rs)", () => {
  it("declare every import with the ABI's name and flattened signature", () => {
    const source = readFileSync(join(ROOT, "sdk/rust/src/abi.rs"), "utf8");
    const declared: string[] = [];
    // Each `#[link(wasm_import_module = "M")] extern "C" { ... }` block, then each `pub fn` in it.
    for (const block of source.matchAll(/wasm_import_module = "(\w+)"\)\]\s*extern "C" \{([^}]*)\}/g)) {
      const [, module, body] = block;
      for (const fn of body.matchAll(/pub fn (\w+)\(([^)]*)\) -> u32;/g)) {
        const [, name, paramText] = fn;
        const params = paramText.split(",").map((p) => p.trim()).filter(Boolean);
        // u64 by value is an i64; everything else (u32, usize, pointers) an i32.
        const types = params.map((p) => (/:\s*u64$/.test(p) ? "i64" : "i32"));
        const abi = abiFunction(module, name);
        expect(abi, `${module}::${name} is not in the ABI`).toBeDefined();
        expect({ fn: `${module}::${name}`, types }).toEqual({ fn: `${module}::${name}`, types: abi!.map((p) => p[1]) });
        declared.push(`${module}::${name}`);
      }
    }
    expect(declared.length).toBe(source.match(/pub fn /g)?.length);
  });
});

/** A GET with repeated header lines (fetch would join them). */
function rawGet(base: string, path: string, headers: [string, string][]): Promise<string> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    // Headers as a raw list keep repeated lines apart; Node then adds no Host itself.
    const raw = [["host", url.host], ...headers].flat();
    const req = httpRequest(url, { method: "GET", headers: raw as unknown as Record<string, string> }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.end();
  });
}
