// Loading guest modules: anything that is not a core Wasm module the host
// can run is refused up front, by `loadModule` and by `serve`, with a
// message that names the fault.
import { afterAll, describe, expect, it } from "vitest";
import { loadModule } from "../../runtime/engine/module-loader.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { wat } from "../helpers/wat.ts";

const MiB = 2 ** 20;
const load = (bytes: Uint8Array, unknownImports: "error" | "trap" = "error") =>
  loadModule(bytes, { memoryBytes: 128 * MiB, unknownImports, name: "app.wasm" });

/** A guest that answers 200 with an empty body when `_start` returns. */
const minimal = (extra = "") => wat(`(module ${extra} (memory (export "memory") 1) (func (export "_start")))`);

/** Each malformed module, and what the message says after the module's name. */
const malformed: [what: string, bytes: Uint8Array, message: RegExp][] = [
  ["a text file", new TextEncoder().encode("<html>not wasm</html>\n"), /not a WebAssembly file/],
  ["an empty file", new Uint8Array(0), /not a WebAssembly file/],
  ["a truncated header", Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01), /not a WebAssembly file/],
  [
    "a component",
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00),
    /this is a WebAssembly component; Outpost runs core modules/,
  ],
  [
    "a section running past the end",
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x40, 0x60),
    /section 1 runs past the end of the module/,
  ],
  [
    "a function that does not type-check",
    wat(`(module (memory (export "memory") 1) (func (export "_start") (drop (i32.add (i32.const 1) (i64.const 2)))))`),
    /invalid WebAssembly: .*function #0/,
  ],
  ["a module without _start", wat(`(module (memory (export "memory") 1) (func (export "main")))`), /the module exports no "_start" function/],
  [
    "a module whose _start is not a function",
    wat(`(module (memory (export "memory") 1) (global (export "_start") i32 (i32.const 0)))`),
    /the module exports no "_start" function/,
  ],
  ["a module without an exported memory", wat(`(module (memory 1) (func (export "_start")))`), /the module exports no "memory"/],
  [
    "a module that imports its memory",
    wat(`(module (import "env" "memory" (memory 1)) (func (export "_start")))`),
    /the module exports no "memory"/,
  ],
  [
    "a module whose initial memory is over the limit",
    wat(`(module (memory (export "memory") 2049) (func (export "_start")))`),
    /the module needs 128\.0\d* MiB of memory to start, more than the limit of 128 MiB/,
  ],
];

describe("loadModule", () => {
  it.each(malformed)("refuses %s with a message naming the fault", async (_what, bytes, message) => {
    await expect(load(bytes)).rejects.toThrow(new RegExp(`^app\\.wasm: .*${message.source}`));
  });

  it("names every function the host does not provide", async () => {
    const bytes = minimal(`
      (import "fastly_bogus" "frobnicate" (func))
      (import "fastly_http_req" "no_such_call" (func (param i32) (result i32)))
      (import "fastly_http_req" "new" (func (param i32) (result i32)))`);
    const error = await load(bytes).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/^app\.wasm: imports functions this host does not provide: /);
    expect(error?.message).toContain("fastly_bogus::frobnicate");
    expect(error?.message).toContain("fastly_http_req::no_such_call");
    expect(error?.message).not.toContain("fastly_http_req::new");
    expect(error?.message).toContain("--unknown-imports trap");
  });

  it("accepts a well-formed module, and one with unknown imports under the trap policy", async () => {
    const loaded = await load(minimal());
    expect(loaded.unknownImports).toEqual([]);
    const lenient = await load(minimal(`(import "fastly_bogus" "frobnicate" (func))`), "trap");
    expect(lenient.unknownImports).toEqual(["fastly_bogus::frobnicate"]);
  });

  it("caps memory at the configured limit, not at what the module declares", async () => {
    // Declares up to 64 MiB; with a 1 MiB limit it may start (1 page) but never grow past 16 pages.
    const bytes = wat(`(module (memory (export "memory") 1 1024) (func (export "_start")))`);
    const { module, memory: plan } = await loadModule(bytes, { memoryBytes: MiB, unknownImports: "error" });
    // The memory is imported (pooled by the host) with the capped maximum.
    expect(plan).toMatchObject({ initialPages: 1, maximumPages: 16 });
    const imported = new WebAssembly.Memory({ initial: plan!.initialPages, maximum: plan!.maximumPages });
    const instance = new WebAssembly.Instance(module, { outpost: { memory: imported } });
    const memory = instance.exports.memory as WebAssembly.Memory;
    expect(memory).toBe(imported);
    expect(memory.grow(15)).toBe(1);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });
});

describe("serve", () => {
  const started: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
  });

  it.each(malformed)("refuses to start with %s", async (_what, bytes, message) => {
    await expect(serve(bytes).then((server) => started.push(server))).rejects.toThrow(new RegExp(`^module: .*${message.source}`));
  });

  it("refuses a module importing an unknown function, naming it", async () => {
    await expect(serve(minimal(`(import "fastly_bogus" "frobnicate" (func))`))).rejects.toThrow(
      /imports functions this host does not provide: fastly_bogus::frobnicate/,
    );
  });

  it("refuses a path that does not exist", async () => {
    await expect(serve("/nonexistent/outpost-test/app.wasm")).rejects.toThrow(/^\/nonexistent\/outpost-test\/app\.wasm: no such file/);
  });

  it("runs a module with unknown imports under the trap policy: calling one gives a 500 naming it", async () => {
    const bytes = wat(`(module
      (import "fastly_bogus" "frobnicate" (func $frobnicate))
      (memory (export "memory") 1)
      (func (export "_start") (call $frobnicate)))`);
    const server = await serve(bytes, { unknownImports: "trap", workers: 1 });
    started.push(server);
    const response = await server.get("/");
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("called fastly_bogus::frobnicate, which this host does not provide");
  });
});
