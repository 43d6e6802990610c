import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { startOrigin } from "../helpers/origin.ts";
import { wat } from "../helpers/wat.ts";

const PROXY = wat(`
(module
  (import "fastly_http_req" "body_downstream_get" (func $downstream (param i32 i32) (result i32)))
  (import "fastly_http_req" "send" (func $send (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "origin")
  (func (export "_start")
    (drop (call $downstream (i32.const 0) (i32.const 4)))
    (drop (call $send (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 32) (i32.const 6) (i32.const 8) (i32.const 12)))
    (drop (call $send_downstream (i32.load (i32.const 8)) (i32.load (i32.const 12)) (i32.const 0)))))
`);

/** A project directory with the given files. */
function project(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-cli-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe("outpost serve", () => {
  const origin = startOrigin((req, res) => {
    res.end(`origin saw ${req.method} ${req.url}`);
  });
  afterAll(async () => (await origin).close());

  it("serves the example from a fresh checkout and logs each request", async () => {
    const server = await outpostServe(["examples/hello"]);
    try {
      const response = await fetch(`${server.url}/hi`);
      expect(await response.text()).toBe("Hello from Outpost!\n");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.output()).toMatch(/GET \/hi 200 [\d.]+ms/);
    } finally {
      await server.stop();
    }
  });

  it("reads backends from fastly.toml [local_server]", async () => {
    const { url } = await origin;
    const dir = project({
      "fastly.toml": `manifest_version = 3\nname = "p"\n[local_server.backends.origin]\nurl = "${url}"\n`,
      "bin/main.wasm": PROXY,
    });
    const server = await outpostServe([dir]);
    try {
      expect(await (await fetch(`${server.url}/path?q=1`)).text()).toBe("origin saw GET /path?q=1");
    } finally {
      await server.stop();
    }
  });

  it("takes --file and --config", async () => {
    const { url } = await origin;
    const dir = project({ "app.wasm": PROXY, "conf/local.toml": `[local_server.backends.origin]\nurl = "${url}"\n` });
    const server = await outpostServe([dir, "--file", join(dir, "app.wasm"), "--config", join(dir, "conf/local.toml")]);
    try {
      expect(await (await fetch(`${server.url}/x`)).text()).toBe("origin saw GET /x");
    } finally {
      await server.stop();
    }
  });

  it.each([
    ["a missing Wasm file", { "fastly.toml": "name = 'x'" }, /bin\/main\.wasm: no such file.*outpost build/],
    ["a file that is not Wasm", { "bin/main.wasm": "hello" }, /not a WebAssembly file/],
    ["invalid Wasm", { "bin/main.wasm": new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]) }, /invalid WebAssembly/],
    ["malformed TOML", { "fastly.toml": "name = ", "bin/main.wasm": PROXY }, /fastly\.toml:1:\d+: invalid TOML/],
    [
      "an unknown [local_server] key",
      { "fastly.toml": "[local_server.backendz.a]\nurl = 'http://x'", "bin/main.wasm": PROXY },
      /unknown key "local_server\.backendz" \(did you mean "backends"\?\)/,
    ],
    [
      "a backend without a url",
      { "fastly.toml": "[local_server.backends.a]\noverride_host = 'x'", "bin/main.wasm": PROXY },
      /local_server\.backends\.a: missing "url"/,
    ],
  ])("refuses %s with a clear message", async (_, files, message) => {
    const result = await outpost(["serve", project(files), "--addr", "127.0.0.1:0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("refuses a bad --addr and a missing --config", async () => {
    const bad = await outpost(["serve", "examples/hello", "--addr", "nowhere"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--addr must be host:port/);
    const missing = await outpost(["serve", "examples/hello", "--config", "/nonexistent/fastly.toml"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/fastly\.toml: no such file/);
  });

  it("refuses a bad number before reading the project, with nothing else said", async () => {
    const result = await outpost(["serve", project({}), "--workers", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('error: --workers must be a positive whole number, got "0"');
  });
});
