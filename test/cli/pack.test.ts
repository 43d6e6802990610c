// `outpost pack`: pkg/<name>.tar.gz with <name>/fastly.toml and
// <name>/bin/main.wasm, nothing else, and the hash of its files.
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { list } from "tar";
import { describe, expect, it } from "vitest";
import { outpost } from "../helpers/cli.ts";
import { helloWasm, tempDir, tempProject } from "../helpers/projects.ts";

async function entries(file: string): Promise<string[]> {
  const paths: string[] = [];
  await list({ file, onReadEntry: (entry) => void paths.push(`${entry.type} ${entry.path}`) });
  return paths.sort();
}

describe.concurrent("outpost pack", () => {
  it("writes pkg/<name>.tar.gz with the platform's layout and prints its path and hash", async () => {
    const manifest = `manifest_version = 3\nname = "my-app"\nlanguage = "other"\n`;
    const dir = tempProject({ "fastly.toml": manifest, "bin/main.wasm": helloWasm(), "src/main.wat": "(module)" });
    const result = await outpost(["pack"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const pkg = join(dir, "pkg/my-app.tar.gz");
    expect(result.stdout).toContain("Packed pkg/my-app.tar.gz");
    expect(await entries(pkg)).toEqual(["Directory my-app/", "Directory my-app/bin/", "File my-app/bin/main.wasm", "File my-app/fastly.toml"]);
    // SHA-512 over the files in name order: bin/main.wasm, then fastly.toml.
    const hash = createHash("sha512").update(helloWasm()).update(manifest).digest("hex");
    expect(result.stdout).toContain(`SHA-512 of its files: ${hash}`);
    expect(existsSync(join(dir, "pkg/my-app"))).toBe(false);
  });

  it("packages another binary with --wasm-binary, and names the folder safely", async () => {
    const dir = tempProject({ "fastly.toml": `name = "My App v2.1"\n` });
    const wasm = join(tempDir(), "prebuilt.wasm");
    writeFileSync(wasm, helloWasm());
    const result = await outpost(["pack", dir, "--wasm-binary", wasm]);
    expect(result.code).toBe(0);
    expect(await entries(join(dir, "pkg/My-App-v2-1.tar.gz"))).toContain("File My-App-v2-1/bin/main.wasm");
  });

  it("says to build first when there is no bin/main.wasm, and refuses a binary that is not Wasm", async () => {
    const dir = tempProject({ "fastly.toml": `name = "app"\n` });
    const unbuilt = await outpost(["pack"], { cwd: dir });
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stderr).toContain("no such file: build it first with `outpost build` (or pass --wasm-binary PATH)");
    writeFileSync(join(dir, "notes.txt"), "hello");
    const notWasm = await outpost(["pack", "--wasm-binary", "notes.txt"], { cwd: dir });
    expect(notWasm.code).toBe(1);
    expect(notWasm.stderr).toContain("notes.txt is not a WebAssembly module");
    expect(existsSync(join(dir, "pkg"))).toBe(false);
  });

  it("needs a fastly.toml, read strictly", async () => {
    const none = await outpost(["pack"], { cwd: tempDir() });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("has no fastly.toml: create a project with `outpost init`");
    const typo = await outpost(["pack"], { cwd: tempProject({ "fastly.toml": `name = "app"\nlangauge = "rust"\n`, "bin/main.wasm": helloWasm() }) });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`unknown key "langauge" (did you mean "language"?)`);
  });
});
