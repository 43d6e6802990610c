// The C SDK: its generated header, built into real guests, and the template
// and parity app served by a real server.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheOverrideTag, HttpVersion, SendErrorDetailTag } from "../../runtime/abi/constants.ts";
import { INVALID_HANDLE, Status } from "../../runtime/abi/status.ts";
import { CONSTANTS, ENUMS, enumValue, lowerAbi, type ParamType, RECORDS } from "../../sdk/c/abi-model.ts";
import { generateHeader, HEADER_PATH } from "../../sdk/c/gen-header.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { ROOT, toolchain } from "../helpers/toolchains.ts";
import { buildC, describeTemplate, expectAbiImports } from "./c-zig-sdk.ts";

const REFERENCE = new URL("../../../shared/abi/abi-signatures.json", import.meta.url);
const WITX = new URL("../../../shared/abi/witx/", import.meta.url);

/** Every enum and flags type of the witx files: name → values in order. */
function witxEnums(): Map<string, { flags: boolean; values: string[] }> {
  const found = new Map<string, { flags: boolean; values: string[] }>();
  for (const file of readdirSync(WITX).filter((f) => f.endsWith(".witx"))) {
    const text = readFileSync(new URL(file, WITX), "utf8").replace(/;[^\n]*/g, "");
    for (const m of text.matchAll(/\(typename\s+\$(\w+)\s+\((enum|flags)\s+\(@witx (?:tag|repr) \w+\)([^()]*)\)/g)) {
      found.set(m[1], { flags: m[2] === "flags", values: [...m[3].matchAll(/\$(\w+)/g)].map((v) => v[1]) });
    }
  }
  return found;
}

/** The guest-side type a parameter's witx note (ABI-SUMMARY §9) calls for. */
function fromNote(note: string, wasmType: string): string {
  if (wasmType === "i64") return "u64";
  const out = /^OUT ptr -> \$(\w+) \((\d) bytes\)$/.exec(note);
  if (out) return out[1] === "num_bytes" || out[1] === "num_hops" ? "out:size" : `out:${{ 2: "u16", 4: "u32", 8: "u64" }[out[2]]}`;
  if (note === "string" || note === "list<u8>" || note === "list<char8>" || note === "const_pointer<char8>") return "bytes-in";
  if (note.startsWith("list<$")) return "handles-in";
  if (note === "" || note === "usize") return "size";
  if (note === "pointer<char8>" || note === "pointer<u8>") return "bytes-out";
  if (note === "pointer<usize>") return "out:size";
  if (note === "pointer<$multi_value_cursor_result>") return "out:i64";
  if (note === "pointer<u64>") return "out:u64";
  if (note === "pointer<u32>") return "out:u32";
  const pointer = /^pointer<\$(\w+)>$/.exec(note) ?? /^\$(\w+) \(record passed BY POINTER\)$/.exec(note);
  if (pointer) return RECORDS.some((r) => r.name === pointer[1]) ? `record:${pointer[1]}` : "out:u32";
  return "u32";
}

function kindOf(type: ParamType): string {
  if (type.kind === "out") return `out:${type.type}`;
  if (type.kind === "record") return `record:${type.record}`;
  return type.kind;
}

describe("the C SDK's header", () => {
  it("is generated from the ABI description (node sdk/c/gen-header.ts)", () => {
    expect(readFileSync(HEADER_PATH, "utf8") === generateHeader(), "sdk/c/include/outpost.h is out of date: run node sdk/c/gen-header.ts").toBe(true);
  });

  it("has the runtime's status codes, enum values and constants", () => {
    const values = (name: string) => {
      const e = ENUMS.find((x) => x.name === name)!;
      return Object.fromEntries(e.values.map((v, i) => [v.toUpperCase(), enumValue(e, i)]));
    };
    expect(values("fastly_status")).toEqual(Status);
    expect(values("http_version")).toEqual(HttpVersion);
    expect(values("cache_override_tag")).toEqual(CacheOverrideTag);
    expect(values("send_error_detail_tag")).toEqual(SendErrorDetailTag);
    expect(CONSTANTS.find(([name]) => name === "invalid_handle")?.[1]).toBe(INVALID_HANDLE);
  });

  it.skipIf(!existsSync(WITX))("has every enum and flags type of the witx, values in order", () => {
    const witx = witxEnums();
    expect(ENUMS.map((e) => e.name).sort()).toEqual([...witx.keys()].sort());
    for (const e of ENUMS) expect({ flags: e.flags, values: e.values }, e.name).toEqual(witx.get(e.name));
  });

  it.skipIf(!existsSync(REFERENCE))("gives every parameter the type the witx gives it", () => {
    const reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as Record<string, Record<string, { params: [string, string, string][] }>>;
    for (const fn of lowerAbi()) {
      const params = reference[fn.module][fn.name].params;
      expect(fn.params.map((p) => kindOf(p.type)), `${fn.module}::${fn.name}`).toEqual(params.map(([, type, note]) => fromNote(note, type)));
    }
  });

  it.skipIf(!toolchain("clang"))("declares every host call with its import name and core-wasm type", async () => {
    const functions = lowerAbi();
    const dir = join(ROOT, "test/.build/c-sdk");
    mkdirSync(dir, { recursive: true });
    // A guest that puts every function in its table, so each is imported. The table
    // is exported: otherwise the linker's --gc-sections, or the wasm-opt that clang
    // runs when it finds one on PATH (binaryen, in node_modules/.bin under npm),
    // drops the unused entries and their imports with them.
    const source = [
      '#include "outpost.h"',
      "static void *all[] = {",
      ...functions.map((fn) => `  (void *)fastly_${fn.module.replace(/^fastly_/, "")}_${fn.name},`),
      "};",
      '__attribute__((export_name("all_imports"))) void **all_imports(void) { return all; }',
      "int main(void) { return 0; }",
    ].join("\n");
    writeFileSync(join(dir, "all-imports.c"), source);
    const wasm = await buildC("test/.build/c-sdk/all-imports.c", [], ["-Wl,--export-table"]);
    expectAbiImports(wasm, functions.length);
  });
});

describeTemplate("c", toolchain("clang"), "C", "Hello from C on Outpost!\n");

// sdk/parity/README.md; test/sdk/parity.test.ts compares the SDKs with each other.
describe.skipIf(!toolchain("clang"))("the C parity app", () => {
  let origin: Origin;
  let server: TestServer;

  beforeAll(async () => {
    const wasm = await buildC("sdk/parity/c/main.c");
    origin = await startOrigin((req, res, body) => {
      res.setHeader("x-origin", "yes");
      res.setHeader("cache-control", "no-store");
      res.statusCode = req.url?.startsWith("/missing") ? 404 : 200;
      res.end(`${req.method} ${req.url} ${body.toString()}`);
    });
    server = await serve(wasm, { backends: { origin: origin.url } });
  });

  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("answers /hello, /echo and /headers", async () => {
    const hello = await server.get("/hello");
    expect([hello.status, hello.headers.get("content-type"), await hello.text()]).toEqual([200, "text/plain; charset=utf-8", "hello, world\n"]);

    const body = Buffer.from([0, 1, 2, 255, 10, 13]);
    const echo = await server.get("/echo", { method: "PUT", body });
    expect(echo.headers.get("x-body-length")).toBe("6");
    expect(echo.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await echo.arrayBuffer()).equals(body)).toBe(true);

    const headers = await server.get("/headers", { headers: { "x-b": "1", "x-a": "2" } });
    const names = (await headers.text()).split("\n");
    expect(names.at(-1)).toBe("");
    expect(names.slice(0, -1)).toEqual([...names.slice(0, -1)].sort());
    expect(names).toContain("x-a");
    expect(names).toContain("host");
  });

  it("proxies to the origin without the /proxy prefix, keeping the query, method and body", async () => {
    const root = await server.get("/proxy?q=1");
    expect([root.status, root.headers.get("x-parity-proxy"), root.headers.get("x-origin"), await root.text()]).toEqual([200, "1", "yes", "GET /?q=1 "]);
    const post = await server.get("/proxy/a/b?c", { method: "POST", body: "data" });
    expect(await post.text()).toBe("POST /a/b?c data");
    const missing = await server.get("/proxy/missing");
    expect(missing.status).toBe(404);
  });

  it("answers /status/<code> and 404 elsewhere", async () => {
    const created = await server.get("/status/201");
    expect([created.status, await created.text()]).toEqual([201, "status 201\n"]);
    for (const bad of ["/status/99", "/status/600", "/status/2x0", "/status/"]) {
      const res = await server.get(bad);
      expect([res.status, await res.text()], bad).toEqual([400, "bad status\n"]);
    }
    const none = await server.get("/proxyx");
    expect([none.status, await none.text()]).toEqual([404, "not found\n"]);
  });
});

describe.skipIf(!toolchain("clang"))("the C parity app without its origin", () => {
  it("answers 502 when the origin cannot be reached", async () => {
    const wasm = await buildC("sdk/parity/c/main.c");
    const server = await serve(wasm, { backends: { origin: "http://127.0.0.1:9" } });
    try {
      const res = await server.get("/proxy");
      expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([502, "text/plain", "origin unreachable\n"]);
    } finally {
      await server.close();
    }
  });
});
