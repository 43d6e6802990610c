// The AssemblyScript examples, built with the command their fastly.toml
// names and served end to end: hello-assemblyscript (small), and
// kv-counter-assemblyscript (no lost increments under concurrency; the count
// survives a restart of `outpost serve` on the same state directory).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpostServe, type RunningCli } from "../helpers/cli.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { ROOT, toolchain } from "../helpers/toolchains.ts";
import { buildWithSdk } from "./assemblyscript-build.ts";

const present = toolchain("assemblyscript");

/** Builds an example the way its fastly.toml says (the options come from its asconfig.json). */
async function buildExample(name: string): Promise<Uint8Array> {
  const dir = join("examples", name);
  const manifest = parse(readFileSync(join(ROOT, dir, "fastly.toml"), "utf8")) as { language?: string; scripts?: { build?: string } };
  expect(manifest.language).toBe("assemblyscript");
  expect(manifest.scripts?.build).toBe("asc assembly/index.ts -o bin/main.wasm");
  return buildWithSdk(dir);
}

describe.runIf(present)("examples/hello-assemblyscript", () => {
  let server: TestServer;
  let wasm: Uint8Array;

  beforeAll(async () => {
    wasm = await buildExample("hello-assemblyscript");
    // With the example's own [local_server] (its config store).
    server = await serve(wasm, { manifest: readFileSync(join(ROOT, "examples/hello-assemblyscript/fastly.toml"), "utf8") });
  }, 120_000);
  afterAll(() => server?.close());

  it("is under 10 KB", () => {
    console.log(`examples/hello-assemblyscript: ${wasm.byteLength} bytes`);
    expect(wasm.byteLength).toBeLessThan(10 * 1024);
  });

  it("greets with the config store's greeting", async () => {
    const response = await server.get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("Hello, world!\n");
    expect(await (await server.get("/?name=Ada%20L.")).text()).toBe("Hello, Ada L.!\n");
  });

  it("answers 404 elsewhere and 405 to other methods", async () => {
    expect((await server.get("/elsewhere")).status).toBe(404);
    const post = await server.get("/", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe.runIf(present)("examples/kv-counter-assemblyscript", () => {
  const dirs: string[] = [];
  const running: RunningCli[] = [];
  let project: string;
  let stateDir: string;

  beforeAll(async () => {
    const wasm = await buildExample("kv-counter-assemblyscript");
    project = mkdtempSync(join(tmpdir(), "outpost-as-counter-"));
    stateDir = mkdtempSync(join(tmpdir(), "outpost-as-counter-state-"));
    dirs.push(project, stateDir);
    mkdirSync(join(project, "bin"));
    writeFileSync(join(project, "bin/main.wasm"), wasm);
    writeFileSync(join(project, "fastly.toml"), readFileSync(join(ROOT, "examples/kv-counter-assemblyscript/fastly.toml")));
  }, 120_000);
  afterAll(async () => {
    for (const cli of running) if (cli.child.exitCode === null && cli.child.signalCode === null) await cli.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const cli = await outpostServe([project, "--state-dir", stateDir, "--admin-addr", "off", "--quiet", "--workers", "2"]);
    running.push(cli);
    return cli;
  };
  const count = async (url: string, path = "/") => {
    const response = await fetch(url + path);
    expect(response.status).toBe(200);
    return Number((await response.text()).trim());
  };

  it("counts 100 concurrent increments exactly, each answered with its own new value", async () => {
    const cli = await start();
    expect(await count(cli.url, "/count")).toBe(0);
    const answers = await Promise.all(Array.from({ length: 100 }, () => count(cli.url)));
    expect(answers.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await count(cli.url, "/count")).toBe(100);
    expect(await cli.stop()).toBe(0);
  }, 60_000);

  it("keeps the count across a restart on the same state directory", async () => {
    const cli = await start();
    expect(await count(cli.url, "/count")).toBe(100);
    expect(await count(cli.url)).toBe(101);
    const other = await fetch(cli.url + "/other");
    expect(other.status).toBe(404);
    await other.arrayBuffer();
    await cli.stop();
  }, 60_000);
});
