// `outpost build`: runs [scripts].build (or the language's default) with the
// toolchains found here, shows the compiler's output when it fails, says how
// to install a missing tool, and checks the module it made.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { outpost } from "../helpers/cli.ts";
import { helloWat, tempProject, watManifest } from "../helpers/projects.ts";
import { toolchain } from "../helpers/toolchains.ts";

describe("outpost build", () => {
  it("runs [scripts].build, checks the module and prints its size", async () => {
    const dir = tempProject({ "fastly.toml": watManifest(), "src/main.wat": helloWat("hi\n") });
    const result = await outpost(["build"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("Building wat-app: wat2wasm src/main.wat -o bin/main.wasm");
    expect(result.stderr).toMatch(/Built bin\/main\.wasm: \d+ bytes in [\d.]+ s/);
    expect(readFileSync(join(dir, "bin/main.wasm")).subarray(0, 4)).toEqual(Buffer.from("\0asm"));
  });

  it("shows the compiler's output when the build fails", async () => {
    const dir = tempProject({ "fastly.toml": watManifest(), "src/main.wat": "(module (func $f (i32.nonsense)))" });
    const result = await outpost(["build", dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unexpected token"); // wat2wasm's own message
    expect(result.stderr).toContain("error: the build exited with status 1: wat2wasm src/main.wat -o bin/main.wasm (its output is above)");
  });

  it("says how to install a missing tool", async () => {
    const unknown = await outpost(["build"], { cwd: tempProject({ "fastly.toml": `name = "x"\n[scripts]\nbuild = "no-such-compiler-xyz main.c"\n` }) });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error: the build runs `no-such-compiler-xyz`, which is not installed here. Install it, or change [scripts].build");
  });

  it("wants a build script when the language has no default", async () => {
    const result = await outpost(["build"], { cwd: tempProject({ "fastly.toml": `name = "x"\nlanguage = "other"\n` }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`has no [scripts].build and language "other" has no default build: add [scripts] build = "..."`);
  });

  it("refuses what the build made when the platform would", async () => {
    const cases: [string, string][] = [
      ["mkdir -p bin && echo hello > bin/main.wasm", `bin/main.wasm is not a WebAssembly module`],
      ["true", "the build finished but wrote no bin/main.wasm: make [scripts].build in fastly.toml write the module there"],
      [
        `printf '(module (import "fastly_geo" "lookup_everything" (func)) (memory (export "memory") 1) (func (export "_start")))' > m.wat && wat2wasm m.wat -o bin/main.wasm`,
        "bin/main.wasm imports a function the Fastly Compute ABI does not have: fastly_geo::lookup_everything",
      ],
    ];
    const results = await Promise.all(
      cases.map(([script]) => outpost(["build"], { cwd: tempProject({ "fastly.toml": `name = "x"\n[scripts]\nbuild = ${JSON.stringify(script)}\n` }) })),
    );
    results.forEach((result, i) => {
      expect(result.stderr).toContain(cases[i][1]);
      expect(result.code).toBe(1);
    });
  });

  it("reads fastly.toml strictly", async () => {
    const result = await outpost(["build"], { cwd: tempProject({ "fastly.toml": `${watManifest()}[scripts.extra]\n` }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[scripts]: unknown key "extra"`);
  });

  it.runIf(toolchain("js-compute"))("builds JavaScript with the language's default when there is no [scripts].build", async () => {
    const dir = tempProject({
      "fastly.toml": `manifest_version = 3\nname = "js"\nlanguage = "javascript"\n`,
      "src/index.js": `addEventListener("fetch", (e) => e.respondWith(new Response("js")));\n`,
    });
    const result = await outpost(["build"], { cwd: dir, timeoutMs: 120_000 });
    expect(result.stderr).toContain("Building js: js-compute-runtime src/index.js bin/main.wasm");
    expect(result.code).toBe(0);
    expect(existsSync(join(dir, "bin/main.wasm"))).toBe(true);
  });
});
