// `outpost init`: a project from a language template or a starter, without
// prompts when not in a terminal.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { outpost } from "../helpers/cli.ts";
import { tempDir, tempProject, watManifest } from "../helpers/projects.ts";

function manifestOf(dir: string) {
  return parseManifest(readFileSync(join(dir, "fastly.toml"), "utf8"), join(dir, "fastly.toml"), dir, { strict: true });
}

describe("outpost init", () => {
  it("writes a JavaScript project: fastly.toml, sources, package.json and .gitignore", async () => {
    const dir = join(tempDir(), "my-site");
    const result = await outpost(["init", dir, "--language", "javascript"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Created a JavaScript project "my-site"`);
    const manifest = manifestOf(dir);
    expect(manifest).toMatchObject({ manifestVersion: 3, name: "my-site", language: "javascript", buildScript: "js-compute-runtime src/index.js bin/main.wasm" });
    expect(manifest.backends.map((backend) => backend.name)).toEqual(["origin"]);
    expect(readFileSync(join(dir, "src/index.js"), "utf8")).toContain('addEventListener("fetch"');
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).toMatchObject({ name: "my-site", devDependencies: { "@fastly/js-compute": expect.any(String) } });
    expect(readFileSync(join(dir, ".gitignore"), "utf8").split("\n")).toEqual(expect.arrayContaining(["bin/", "pkg/", ".outpost/", "node_modules/"]));
  });

  it("names the project with --name", async () => {
    const dir = tempDir();
    expect((await outpost(["init", "--language", "javascript", "--name", "Shop Front"], { cwd: dir })).code).toBe(0);
    expect(manifestOf(dir).name).toBe("Shop Front");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name).toBe("shop-front");
  });

  it("asks for --language when there is no terminal to prompt in", async () => {
    const dir = tempDir();
    const result = await outpost(["init"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: --language is required when not run in a terminal: pass --language rust|javascript|zig|assemblyscript|c");
    expect(existsSync(join(dir, "fastly.toml"))).toBe(false);
    const wrong = await outpost(["init", "--language", "cobol"], { cwd: dir });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("Allowed choices are rust, javascript, zig, assemblyscript, c");
  });

  it("refuses a folder with files in it unless --force", async () => {
    const dir = tempProject({ "notes.txt": "mine" });
    const refused = await outpost(["init", "--language", "javascript"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not empty (notes.txt): pick an empty or new folder, or pass --force to write into it");
    expect(existsSync(join(dir, "fastly.toml"))).toBe(false);
    const forced = await outpost(["init", "--language", "javascript", "--force"], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(dir, "fastly.toml"))).toBe(true);
    // A git repository alone does not count as content.
    const repo = tempDir();
    mkdirSync(join(repo, ".git"));
    expect((await outpost(["init", "--language", "javascript"], { cwd: repo })).code).toBe(0);
  });

  it("copies a built-in starter by name and renames it", async () => {
    const dir = join(tempDir(), "greeter");
    const result = await outpost(["init", dir, "--from", "hello-js"]);
    expect(result.code).toBe(0);
    expect(manifestOf(dir)).toMatchObject({ name: "greeter", language: "javascript" });
    expect(readFileSync(join(dir, "src/index.js"), "utf8")).toContain("Hello from JavaScript");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name).toBe("greeter");
    expect(existsSync(join(dir, "bin"))).toBe(false);
    // The starter's comments stay.
    expect(readFileSync(join(dir, "fastly.toml"), "utf8")).toContain("# This file describes a Fastly Compute package.");
  });

  it("copies a local starter folder, and names the starters when one is unknown", async () => {
    const starter = tempProject({ "fastly.toml": watManifest("wat-starter"), "src/main.wat": "(module)", "bin/main.wasm": "old build" });
    const dir = tempDir();
    const copied = await outpost(["init", "--from", starter, "--name", "copy"], { cwd: dir });
    expect(copied.code).toBe(0);
    expect(manifestOf(dir).name).toBe("copy");
    expect(readFileSync(join(dir, "src/main.wat"), "utf8")).toBe("(module)");
    expect(existsSync(join(dir, "bin/main.wasm"))).toBe(false);

    const unknown = await outpost(["init", "--from", "helo-js"], { cwd: tempDir() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`--from helo-js: no such folder or starter (did you mean "hello-js"?)`);
    const notProject = await outpost(["init", "--from", tempDir()], { cwd: tempDir() });
    expect(notProject.code).toBe(1);
    expect(notProject.stderr).toContain("the folder has no fastly.toml, so it is not a Compute project");
  });

  it("defaults the name to the folder's", async () => {
    const dir = join(tempDir(), "Edge_App");
    mkdirSync(dir);
    expect((await outpost(["init", "--language", "javascript"], { cwd: dir })).code).toBe(0);
    expect(manifestOf(dir).name).toBe(basename(dir).toLowerCase());
  });
});
