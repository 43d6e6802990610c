// The Zig SDK: its generated bindings, built into real guests by Zig 0.11,
// and the template served by a real server.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lowerAbi } from "../../sdk/c/abi-model.ts";
import { ABI_ZIG_PATH, generateAbiZig } from "../../sdk/zig/gen-abi.ts";
import { ROOT, toolchain } from "../helpers/toolchains.ts";
import { buildZig, describeTemplate, expectAbiImports } from "./c-zig-sdk.ts";

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
    expectAbiImports(wasm, functions.length);
  });
});

describeTemplate("zig", toolchain("zig"), "Zig", "Hello from Zig on Outpost!\n");
