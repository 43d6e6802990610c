// A new AssemblyScript project as users make one: `outpost init --language
// assemblyscript` (sdk/assemblyscript/template, the SDK vendored as
// vendor/outpost), or `--from` an AssemblyScript example; then `outpost
// build` with Outpost's own asc, and the result served.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outpost } from "../helpers/cli.ts";
import { serve } from "../helpers/outpost.ts";
import { assemblyscript, toolchain } from "../helpers/toolchains.ts";
import { SDK, sdkSources } from "./assemblyscript-build.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-as-init-"));
  dirs.push(dir);
  return join(dir, "app");
}

async function init(args: string[]): Promise<string> {
  const dir = tempDir();
  const result = await outpost(["init", dir, ...args]);
  expect(result.code, result.stderr).toBe(0);
  expect(existsSync(join(dir, "vendor/outpost/index.ts"))).toBe(true);
  expect(existsSync(join(dir, "vendor/outpost/template"))).toBe(false);
  return dir;
}

describe.runIf(toolchain("assemblyscript"))("outpost init: AssemblyScript", () => {
  it("makes a project from the template that builds and says hello", async () => {
    const dir = await init(["--language", "assemblyscript"]);
    expect(readFileSync(join(dir, "assembly/index.ts"), "utf8")).toContain('from "../vendor/outpost"');
    const build = await outpost(["build"], { cwd: dir, timeoutMs: 60_000 });
    expect(build.code, build.stderr + build.stdout).toBe(0);
    const server = await serve(readFileSync(join(dir, "bin/main.wasm")));
    try {
      const hello = await server.get("/");
      expect(await hello.text()).toBe("Hello from AssemblyScript on Fastly Compute!\n");
      expect((await server.get("/missing")).status).toBe(404);
      expect((await server.get("/", { method: "DELETE" })).status).toBe(405);
    } finally {
      await server.close();
    }
  }, 90_000);

  it("makes a project from an AssemblyScript example, pointed at the vendored SDK", async () => {
    const dir = await init(["--from", "kv-counter-assemblyscript"]);
    expect(readFileSync(join(dir, "assembly/index.ts"), "utf8")).toContain('from "../vendor/outpost"');
    // `outpost build` is covered above; this build is cached across runs.
    const vendored = sdkSources().map((file) => join(dir, "vendor/outpost", relative(SDK, file)));
    const wasm = await assemblyscript(dir, "assembly/index.ts", vendored);
    const server = await serve(wasm, { manifest: readFileSync(join(dir, "fastly.toml"), "utf8") });
    try {
      expect(await (await server.get("/")).text()).toBe("1\n");
      expect(await (await server.get("/")).text()).toBe("2\n");
    } finally {
      await server.close();
    }
  }, 90_000);
});
