// examples/hello-rust and the `outpost init --language rust` template
// (sdk/rust/template), each built with cargo exactly as a user builds it
// and served by the real `outpost serve`.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { outpostServe, type RunningCli } from "../helpers/cli.ts";
import { serve } from "../helpers/outpost.ts";
import { cargo, ROOT, toolchain } from "../helpers/toolchains.ts";

const run = promisify(execFile);
const present = toolchain("cargo");
const LIMITS = { cpuMs: 10_000 };
const scratch = mkdtempSync(join(tmpdir(), "outpost-rust-examples-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A project directory holding `fastly.toml` and `bin/main.wasm`, as `outpost serve` expects. */
function project(name: string, manifest: string, wasm: Uint8Array): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "fastly.toml"), manifest);
  writeFileSync(join(dir, "bin/main.wasm"), wasm);
  return dir;
}

function buildScript(manifestPath: string): string {
  const manifest = parseToml(readFileSync(join(ROOT, manifestPath), "utf8")) as { scripts?: { build?: string } };
  return manifest.scripts?.build ?? "";
}

describe.skipIf(!present)("examples/hello-rust", () => {
  let wasm: Uint8Array;
  let cli: RunningCli;

  beforeAll(async () => {
    wasm = await cargo("examples/hello-rust", ["sdk/rust"]);
    const dir = project("hello-rust", readFileSync(join(ROOT, "examples/hello-rust/fastly.toml"), "utf8"), wasm);
    cli = await outpostServe([dir, "--admin-addr", "off", "--state-dir", "off", "--cpu-ms", "10000"]);
  });
  afterAll(async () => {
    await cli?.stop();
  });

  it("is small: under 120 KB", () => {
    expect(wasm.byteLength).toBeLessThan(120 * 1024);
  });

  it("greets with the config store's greeting and the name in the query", async () => {
    const response = await fetch(`${cli.url}/?name=Ada`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("Hello, Ada!\n");
    expect(await (await fetch(`${cli.url}/`)).text()).toBe("Hello, world!\n");
  });

  it("answers 404 off its route and 405 to other methods", async () => {
    const missing = await fetch(`${cli.url}/elsewhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("not found\n");
    const post = await fetch(`${cli.url}/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("turns a handler error into a 500 and logs it (no config store declared)", async () => {
    const server = await serve(wasm, { limits: LIMITS });
    try {
      const response = await server.get("/");
      expect(response.status).toBe(500);
      expect(await response.text()).toBe("Internal Server Error\n");
      await expect
        .poll(() => server.logger.lines.some((line) => line.includes("request failed: fastly_config_store::open failed: badf (3)")))
        .toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!present)("the `outpost init --language rust` template", () => {
  it("builds with fastly.toml's build script against the SDK vendored into the project, and serves", async () => {
    // What `outpost init` does: the template, the SDK as vendor/outpost-sdk, a fastly.toml.
    const dir = join(scratch, "from-template");
    cpSync(join(ROOT, "sdk/rust/template"), dir, { recursive: true });
    cpSync(join(ROOT, "sdk/rust"), join(dir, "vendor/outpost-sdk"), {
      recursive: true,
      filter: (source) => !/[/\\](template|target)$/.test(source),
    });
    const build = buildScript("examples/hello-rust/fastly.toml");
    writeFileSync(join(dir, "fastly.toml"), `manifest_version = 3\nname = "from-template"\nlanguage = "rust"\n\n[scripts]\nbuild = ${JSON.stringify(build)}\n`);

    await run("sh", ["-c", build], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    const wasm = readFileSync(join(dir, "bin/main.wasm"));
    expect(wasm.byteLength).toBeLessThan(120 * 1024);

    const cli = await outpostServe([dir, "--admin-addr", "off", "--state-dir", "off", "--cpu-ms", "10000"]);
    try {
      const response = await fetch(`${cli.url}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("Hello from Outpost!\n");
      expect((await fetch(`${cli.url}/other`)).status).toBe(404);
    } finally {
      await cli.stop();
    }
  }, 120_000);
});
