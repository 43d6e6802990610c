// `outpost validate`: a package (or a project) checked as the platform would,
// each fault named with its fix and a non-zero exit.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { outpost } from "../helpers/cli.ts";
import { helloWasm, tarGz, tempDir, tempProject } from "../helpers/projects.ts";
import { wat } from "../helpers/wat.ts";

const MANIFEST = `manifest_version = 3\nname = "app"\nlanguage = "other"\n`;

async function validate(files: Record<string, string | Uint8Array>) {
  return outpost(["validate", "--package", await tarGz(files)]);
}

describe("outpost validate --package", () => {
  it("accepts a package made by pack and prints the hash of its files", async () => {
    const dir = tempProject({ "fastly.toml": MANIFEST, "bin/main.wasm": helloWasm() });
    expect((await outpost(["pack"], { cwd: dir })).code).toBe(0);
    const result = await outpost(["validate", "--package", "pkg/app.tar.gz"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("pkg/app.tar.gz is valid");
    const expected = createHash("sha512").update(helloWasm()).update(MANIFEST).digest("hex");
    expect(result.stdout).toContain(`SHA-512 of its files: ${expected}`);
  });

  it("names a missing bin/main.wasm and how to add it", async () => {
    const result = await validate({ "app/fastly.toml": MANIFEST });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .* has no app\/bin\/main\.wasm: build the module \(`outpost build`\) and make the package again with `outpost pack`/);
  });

  it("names a missing fastly.toml", async () => {
    const result = await validate({ "app/bin/main.wasm": helloWasm() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("has no app/fastly.toml");
  });

  it("names an extra file and says to remove it", async () => {
    const result = await validate({ "app/fastly.toml": MANIFEST, "app/bin/main.wasm": helloWasm(), "app/src/main.wat": "(module)" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("besides fastly.toml and bin/main.wasm: app/src/main.wat: remove it");
  });

  it("wants exactly one top-level folder", async () => {
    const loose = await validate({ "fastly.toml": MANIFEST, "bin/main.wasm": helloWasm() });
    expect(loose.code).toBe(1);
    expect(loose.stderr).toContain("fastly.toml at its top level: a package holds one folder <name>/");
    const two = await validate({ "a/fastly.toml": MANIFEST, "b/bin/main.wasm": helloWasm() });
    expect(two.code).toBe(1);
    expect(two.stderr).toContain("2 top-level folders (a, b)");
  });

  it("refuses a file that is not a .tar.gz, and one that does not exist", async () => {
    const path = join(tempDir(), "app.tar.gz");
    writeFileSync(path, "not a package");
    const result = await outpost(["validate", "--package", path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not a gzip-compressed tar archive (.tar.gz): make the package with `outpost pack`");
    const missing = await outpost(["validate", "--package", join(tempDir(), "none.tar.gz")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
  });

  it("reads the manifest strictly: unknown keys get a did-you-mean, mistyped values the right form", async () => {
    const cases: [string, string][] = [
      [`${MANIFEST}nmae = "x"\n`, `unknown key "nmae" (did you mean "name"?)`],
      [`manifest_version = 3\nname = 5\n`, `name must be a string, got 5 (quote it: "5")`],
      [`${MANIFEST}authors = "me"\n`, `authors must be an array of strings, got "me" (for example authors = ["you@example.com"])`],
      [`${MANIFEST}[scripts]\nbiuld = "make"\n`, `[scripts]: unknown key "biuld" (did you mean "build"?)`],
      [`manifest_version = 3\nlanguage = "rsut"\n`, `unknown language "rsut" (did you mean "rust"?)`],
      [`${MANIFEST}[local_server.backend.origin]\nurl = "http://x"\n`, `unknown key "local_server.backend" (did you mean "backends"?)`],
    ];
    const results = await Promise.all(cases.map(([manifest]) => validate({ "app/fastly.toml": manifest, "app/bin/main.wasm": helloWasm() })));
    results.forEach((result, i) => {
      expect(result.stderr, cases[i][0]).toContain(cases[i][1]);
      expect(result.code).toBe(1);
    });
  });

  it("checks the Wasm module: not Wasm, a component, no _start, unknown imports", async () => {
    const cases: [Uint8Array | string, string][] = [
      ["<html>not wasm</html>", `app/bin/main.wasm is not a WebAssembly module (it does not start with "\\0asm")`],
      [new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 0x01, 0]), "is a WebAssembly component, not a core module: build for wasm32-wasi"],
      [new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2]), "is not valid WebAssembly"],
      [wat(`(module (memory (export "memory") 1))`), `exports no "_start" function: build it as a WASI command`],
      [wat(`(module (func (export "_start")))`), `exports no "memory"`],
      [
        wat(`(module (import "fastly_http_req" "teleport" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "_start")))`),
        "imports a function the Fastly Compute ABI does not have: fastly_http_req::teleport: remove that call",
      ],
    ];
    const results = await Promise.all(cases.map(([wasm]) => validate({ "app/fastly.toml": MANIFEST, "app/bin/main.wasm": wasm })));
    results.forEach((result, i) => {
      expect(result.stderr).toContain(cases[i][1]);
      expect(result.code).toBe(1);
    });
  });
});

describe("outpost validate [DIR]", () => {
  it("checks a project's fastly.toml and bin/main.wasm", async () => {
    const dir = tempProject({ "fastly.toml": MANIFEST, "bin/main.wasm": helloWasm() });
    const ok = await outpost(["validate", dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("is valid: fastly.toml (app), bin/main.wasm");
    const unbuilt = await outpost(["validate"], { cwd: tempProject({ "fastly.toml": MANIFEST }) });
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stderr).toContain("bin/main.wasm: no such file: build it with `outpost build`");
  });
});
