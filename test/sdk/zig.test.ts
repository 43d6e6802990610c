// The Zig SDK: its generated bindings, built into real guests by Zig 0.11,
// and the template served by a real server.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ABI } from "../../runtime/abi/signatures.ts";
import { lowerAbi } from "../../sdk/c/abi-model.ts";
import { ABI_ZIG_PATH, generateAbiZig } from "../../sdk/zig/gen-abi.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { ROOT, toolchain } from "../helpers/toolchains.ts";
import { buildTemplate, buildZig, wasmImports } from "./c-zig-sdk.ts";

describe("the Zig SDK's bindings", () => {
  it("are generated from the ABI description (node sdk/zig/gen-abi.ts)", () => {
    expect(readFileSync(ABI_ZIG_PATH, "utf8") === generateAbiZig(), "sdk/zig/src/abi.zig is out of date: run node sdk/zig/gen-abi.ts").toBe(true);
  });

  // Zig 0.11 keeps an extern's import module apart from its name, so
  // `fastly_http_req.new`, `fastly_http_resp.new` and `fastly_http_body.new`
  // are three imports, not one: this holds for every function of the ABI.
  it.skipIf(!toolchain("zig"))("import every host call under its own module and name, with its core-wasm type", async () => {
    const functions = lowerAbi();
    const dir = join(ROOT, "test/.build/zig-sdk");
    mkdirSync(dir, { recursive: true });
    const source = [
      'const std = @import("std");',
      'const abi = @import("outpost").abi;',
      "pub fn main() void {",
      ...functions.map((fn) => `    std.mem.doNotOptimizeAway(&@field(abi.${fn.module}, "${fn.name}"));`),
      "}",
    ].join("\n");
    writeFileSync(join(dir, "all-imports.zig"), `${source}\n`);
    const wasm = await buildZig("test/.build/zig-sdk/all-imports.zig");
    const imports = wasmImports(wasm).filter((i) => i.module.startsWith("fastly_"));
    expect(imports).toHaveLength(functions.length);
    for (const i of imports) {
      const params = ABI[i.module]?.[i.name];
      expect(params, `${i.module}::${i.name}`).toBeDefined();
      expect(i.params, `${i.module}::${i.name}`).toEqual(params.map(([, type]) => type));
      expect(i.results).toEqual(["i32"]);
    }
  });
});

describe.skipIf(!toolchain("zig"))("the Zig template", () => {
  let server: TestServer;
  let size = 0;

  beforeAll(async () => {
    const wasm = await buildTemplate("zig");
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
    expect(await hello.text()).toBe("Hello from Zig on Outpost!\n");
    const other = await server.get("/elsewhere");
    expect(other.status).toBe(404);
  });
});
