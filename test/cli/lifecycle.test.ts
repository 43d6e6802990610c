// The project lifecycle as a user lives it, from an empty folder, for every
// language: `outpost init`, `build`, `serve`, `pack`, `validate`; then
// `serve --watch` on a JavaScript app; then the faults users make, each
// answered with a message that names it and the fix, and a non-zero exit.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { eventually, helloWasm, tarGz, tempDir, tempProject } from "../helpers/projects.ts";
import { type Toolchain, toolchain } from "../helpers/toolchains.ts";
import { wat } from "../helpers/wat.ts";

const LANGUAGES: { language: string; toolchain: Toolchain; greeting: string }[] = [
  { language: "javascript", toolchain: "js-compute", greeting: "Hello from JavaScript on Outpost!\n" },
  { language: "rust", toolchain: "cargo", greeting: "Hello from Outpost!\n" },
  { language: "c", toolchain: "clang", greeting: "Hello from C on Outpost!\n" },
  { language: "zig", toolchain: "zig", greeting: "Hello from Zig on Outpost!\n" },
  { language: "assemblyscript", toolchain: "assemblyscript", greeting: "Hello from AssemblyScript on Fastly Compute!\n" },
];

const SLOW = { timeoutMs: 180_000 };

describe.concurrent("init → build → serve → pack → validate", () => {
  for (const { language, toolchain: needs, greeting } of LANGUAGES) {
    it.skipIf(!toolchain(needs))(language, { timeout: 300_000 }, async () => {
      const dir = join(tempDir(), `${language}-app`);
      const init = await outpost(["init", dir, "--language", language]);
      expect(init.stderr).toBe("");
      expect(init.code).toBe(0);

      const build = await outpost(["build"], { cwd: dir, ...SLOW });
      expect(build.code, build.stderr).toBe(0);
      expect(build.stderr).toMatch(/Built bin\/main\.wasm: [\d.]+ (KiB|MiB|bytes)/);

      const server = await outpostServe([dir, "--admin-addr", "off", "--workers", "1", "--cpu-ms", "2000"]);
      try {
        const response = await fetch(`${server.url}/`);
        expect(await response.text()).toBe(greeting);
        expect(response.status).toBe(200);
      } finally {
        await server.stop();
      }

      const pack = await outpost(["pack"], { cwd: dir, ...SLOW });
      expect(pack.code, pack.stderr).toBe(0);
      expect(pack.stdout).toContain(`Packed pkg/${language}-app.tar.gz`);
      const validate = await outpost(["validate", "--package", `pkg/${language}-app.tar.gz`], { cwd: dir, ...SLOW });
      expect(validate.code, validate.stderr).toBe(0);
      expect(validate.stdout).toContain("is valid");
      // Both print the same hash of the package's files.
      const hash = (output: string) => /SHA-512 of its files: ([0-9a-f]{128})/.exec(output)?.[1];
      expect(hash(validate.stdout)).toBe(hash(pack.stdout));
    });
  }
});

describe.skipIf(!toolchain("js-compute"))("serve --watch on a new JavaScript app", () => {
  it("serves an edit within seconds; a syntax error leaves the previous version serving and prints the compiler's message", { timeout: 180_000 }, async () => {
    const dir = join(tempDir(), "watched");
    expect((await outpost(["init", dir, "--language", "javascript"])).code).toBe(0);
    // No build yet: --watch builds first.
    const server = await outpostServe([dir, "--watch", "--admin-addr", "off", "--workers", "1", "--cpu-ms", "2000"]);
    try {
      await eventually(() => server.output().includes("watching "), 30_000, "the watcher");
      const text = async () => (await fetch(`${server.url}/`)).text();
      expect(await text()).toBe("Hello from JavaScript on Outpost!\n");

      const source = join(dir, "src/index.js");
      writeFileSync(source, readFileSync(source, "utf8").replace("Hello from JavaScript on Outpost!", "Edited!"));
      const edited = Date.now();
      await eventually(async () => (await text()) === "Edited!\n", 30_000, "the edit to be served");
      expect(Date.now() - edited).toBeLessThan(20_000); // a few seconds on a quiet machine; js-compute builds take 1-3 s

      writeFileSync(source, readFileSync(source, "utf8").replace("async function handle(request) {", "async function handle(request) {{{"));
      await eventually(() => server.output().includes("still serving the previous build"), 30_000, "the failed build");
      expect(server.output()).toContain("src/index.js:"); // esbuild's message, with the place
      expect(await text()).toBe("Edited!\n");
    } finally {
      await server.stop();
    }
  });
});

describe("faults", () => {
  const manifest = `manifest_version = 3\nname = "app"\nlanguage = "other"\n`;
  const unknownImport = wat(`(module (import "fastly_http_req" "fly_to_moon" (func)) (memory (export "memory") 1) (func (export "_start")))`);

  it("each names what is wrong and how to fix it, with a non-zero exit", async () => {
    const cases: [string[], string | undefined, string][] = [
      // An unknown or mistyped manifest field.
      [["build"], tempProject({ "fastly.toml": `${manifest}[scripts]\nbuidl = "make"\n` }), `unknown key "buidl" (did you mean "build"?)`],
      [["validate"], tempProject({ "fastly.toml": `${manifest}description = 42\n`, "bin/main.wasm": helloWasm() }), `description must be a string, got 42 (quote it: description = "42")`],
      // A package with a missing or an extra file.
      [["validate", "--package", await tarGz({ "app/fastly.toml": manifest })], undefined, "has no app/bin/main.wasm: build the module (`outpost build`) and make the package again with `outpost pack`"],
      [["validate", "--package", await tarGz({ "app/fastly.toml": manifest, "app/bin/main.wasm": helloWasm(), "app/.env": "SECRET=1" })], undefined, "app/.env: remove it (`outpost pack` packages only those two)"],
      // A Wasm file that is not Wasm.
      [["validate"], tempProject({ "fastly.toml": manifest, "bin/main.wasm": "#!/bin/sh\necho hi\n" }), "bin/main.wasm is not a WebAssembly module"],
      // A module importing a function the ABI does not have.
      [["validate", "--package", await tarGz({ "app/fastly.toml": manifest, "app/bin/main.wasm": unknownImport })], undefined, "imports a function the Fastly Compute ABI does not have: fastly_http_req::fly_to_moon"],
    ];
    const results = await Promise.all(cases.map(([args, cwd]) => outpost(args, { cwd })));
    results.forEach((result, i) => {
      expect(result.stderr).toContain(cases[i][2]);
      expect(result.stderr).toMatch(/^error: /m);
      expect(result.code).toBe(1);
    });
  });
});
