// Shared by the C and Zig SDK tests: building guests and examples with the
// real toolchains, and reading what a module imports.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LANGUAGE_SPECS } from "../../cli/project/languages.ts";
import { ABI } from "../../runtime/abi/signatures.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { cached, clang, ROOT, TOOLCHAINS, zig } from "../helpers/toolchains.ts";

const run = promisify(execFile);

/** The files of a folder of the checkout, as inputs of a build. */
export function filesOf(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length + 1))
    .sort();
}

export const C_SDK_FILES = filesOf("sdk/c/include");
export const ZIG_SDK_FILES = filesOf("sdk/zig/src");
export const ZIG_SDK = { outpost: "sdk/zig/src/outpost.zig" };

/** A C guest using sdk/c, built strictly (warnings are errors). */
export function buildC(source: string, extraInputs: string[] = [], extraFlags: string[] = []): Promise<Uint8Array> {
  return clang(source, [...C_SDK_FILES, ...extraInputs], ["-Isdk/c/include", "-Wall", "-Wextra", "-Werror", "-Wl,--gc-sections", ...extraFlags]);
}

/** A Zig guest importing sdk/zig as `outpost`. */
export function buildZig(source: string): Promise<Uint8Array> {
  return zig(source, ZIG_SDK, ZIG_SDK_FILES);
}

/** Runs a build script with /bin/sh in `dir`, as `outpost build` does, with `clang` and `zig` on PATH (scripts name them plainly). */
async function runBuild(dir: string, script: string): Promise<void> {
  const shims = join(ROOT, "test/.build/shims");
  mkdirSync(shims, { recursive: true });
  for (const [name, target] of [["clang", TOOLCHAINS.clang], ["zig", TOOLCHAINS.zig]]) {
    try {
      symlinkSync(target, join(shims, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  mkdirSync(join(dir, "bin"), { recursive: true });
  rmSync(join(dir, "bin/main.wasm"), { force: true });
  try {
    await run("/bin/sh", ["-c", script], { cwd: dir, env: { ...process.env, PATH: `${shims}${delimiter}${process.env.PATH}` } });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${script} failed in ${dir}:\n${stderr ?? ""}${stdout ?? ""}`);
  }
}

/** Builds an example with its own `[scripts].build`; cached by the example's and the SDK's files. */
export function buildExample(example: string, sdk: "c" | "zig"): Promise<Uint8Array> {
  const dir = join(ROOT, example);
  const own = filesOf(example).filter((file) => !/\/(bin|zig-cache|\.outpost)\//.test(file));
  return cached(`example-${example.replace(/\W+/g, "-")}`, [...own, ...(sdk === "c" ? C_SDK_FILES : ZIG_SDK_FILES)], async (out) => {
    const manifest = parse(readFileSync(join(dir, "fastly.toml"), "utf8")) as { scripts?: { build?: string } };
    if (!manifest.scripts?.build) throw new Error(`${example}/fastly.toml has no [scripts].build`);
    await runBuild(dir, manifest.scripts.build);
    copyFileSync(join(dir, "bin/main.wasm"), out);
  });
}

/**
 * A project laid out as `outpost init --language <sdk>` makes it (the
 * template, the SDK in vendor/outpost), built with the script init writes.
 */
export function buildTemplate(sdk: "c" | "zig"): Promise<Uint8Array> {
  const inputs = [...filesOf(`sdk/${sdk}/template`), ...(sdk === "c" ? C_SDK_FILES : ZIG_SDK_FILES)];
  const script = LANGUAGE_SPECS[sdk].build;
  const scriptHash = createHash("sha256").update(script).digest("hex").slice(0, 8);
  return cached(`template-${sdk}-${scriptHash}`, inputs, async (out) => {
    const dir = join(ROOT, "test/.build/projects", `${sdk}-template-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(ROOT, "sdk", sdk, "template"), dir, { recursive: true });
    cpSync(join(ROOT, "sdk", sdk), join(dir, "vendor/outpost"), {
      recursive: true,
      filter: (source) => !source.includes("/template") && !source.endsWith(".ts"),
    });
    await runBuild(dir, script);
    copyFileSync(join(dir, "bin/main.wasm"), out);
    rmSync(dir, { recursive: true, force: true });
  });
}

/** An example's fastly.toml with its backends pointed at the given URLs. */
export function exampleManifest(example: string, backends: Record<string, string>): string {
  const manifest = parse(readFileSync(join(ROOT, example, "fastly.toml"), "utf8")) as {
    local_server?: { backends?: Record<string, { url: string }> };
  };
  for (const [name, url] of Object.entries(backends)) {
    const backend = manifest.local_server?.backends?.[name];
    if (!backend) throw new Error(`${example}/fastly.toml has no backend ${name}`);
    backend.url = url;
  }
  return stringify(manifest);
}

export interface WasmImport {
  module: string;
  name: string;
  kind: "func" | "table" | "memory" | "global";
  /** For functions: parameter and result types. */
  params?: string[];
  results?: string[];
}

const VALTYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };

/** The imports of a module, with the types of imported functions (from the binary's type and import sections). */
export function wasmImports(bytes: Uint8Array): WasmImport[] {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++];
      result |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result >>> 0;
      shift += 7;
    }
  };
  const name = (): string => {
    const len = u32();
    const text = Buffer.from(bytes.subarray(pos, pos + len)).toString("utf8");
    pos += len;
    return text;
  };
  const limits = () => {
    const flags = u32();
    u32();
    if (flags & 1) u32();
  };
  const types: { params: string[]; results: string[] }[] = [];
  const imports: WasmImport[] = [];
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let count = u32(); count > 0; count--) {
        if (bytes[pos++] !== 0x60) throw new Error("unexpected type form");
        const params = Array.from({ length: u32() }, () => VALTYPES[bytes[pos++]]);
        const results = Array.from({ length: u32() }, () => VALTYPES[bytes[pos++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let count = u32(); count > 0; count--) {
        const module = name();
        const field = name();
        const kind = bytes[pos++];
        if (kind === 0) imports.push({ module, name: field, kind: "func", ...types[u32()] });
        else if (kind === 1) (pos++, limits(), imports.push({ module, name: field, kind: "table" }));
        else if (kind === 2) (limits(), imports.push({ module, name: field, kind: "memory" }));
        else (pos += 2, imports.push({ module, name: field, kind: "global" }));
      }
    }
    pos = end;
  }
  return imports;
}

/**
 * The hello example's suite, the same for every SDK: the greeting from the
 * config store with the name in the query, 404 off `/`, 405 to other methods.
 */
export function describeHelloExample(sdk: "c" | "zig", available: boolean, name: { query: string; shown: string }): void {
  const example = `examples/hello-${sdk}`;
  describe.skipIf(!available)(example, () => {
    let server: TestServer;

    beforeAll(async () => {
      const wasm = await buildExample(example, sdk);
      server = await serve(wasm, { manifest: exampleManifest(example, {}) });
    });

    afterAll(() => server?.close());

    it("greets with the config store's greeting and the name in the query", async () => {
      const world = await server.get("/");
      expect(world.status).toBe(200);
      expect(world.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await world.text()).toBe("Hello, world!\n");
      expect(await (await server.get(`/?name=${name.query}`)).text()).toBe(`Hello, ${name.shown}!\n`);
    });

    it("answers 404 off / and 405 to other methods", async () => {
      expect((await server.get("/nope")).status).toBe(404);
      const post = await server.get("/", { method: "POST", body: "x" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });
  });
}

/** Checks that a module imports each of `count` ABI functions under its module and name, with the ABI's core-wasm type. */
export function expectAbiImports(wasm: Uint8Array, count: number): void {
  const imports = wasmImports(wasm).filter((i) => i.module.startsWith("fastly_"));
  expect(imports).toHaveLength(count);
  for (const i of imports) {
    const params = ABI[i.module]?.[i.name];
    expect(params, `${i.module}::${i.name}`).toBeDefined();
    expect(i.params, `${i.module}::${i.name}`).toEqual(params.map(([, type]) => type));
    expect(i.results).toEqual(["i32"]);
  }
}

/** The suite of the project `outpost init` makes for an SDK: small, and it greets. */
export function describeTemplate(sdk: "c" | "zig", available: boolean, title: string, greeting: string): void {
  describe.skipIf(!available)(`the ${title} template`, () => {
    let server: TestServer;
    let size = 0;

    beforeAll(async () => {
      const wasm = await buildTemplate(sdk);
      size = wasm.byteLength;
      server = await serve(wasm);
    });

    afterAll(() => server?.close());

    it("builds from vendor/outpost into a module under 10 KB", () => {
      expect(size).toBeLessThan(10 * 1024);
    });

    it("greets on / and answers 404 elsewhere", async () => {
      const hello = await server.get("/");
      expect(hello.status).toBe(200);
      expect(await hello.text()).toBe(greeting);
      const other = await server.get("/elsewhere");
      expect(other.status).toBe(404);
    });
  });
}
