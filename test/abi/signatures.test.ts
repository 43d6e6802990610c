import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ABI } from "../../runtime/abi/signatures.ts";
import { HOST_MODULES, WASI_MODULE } from "../../runtime/hostcalls/index.ts";

const REFERENCE = new URL("../../../shared/abi/abi-signatures.json", import.meta.url);

describe("the ABI description", () => {
  it("covers the 24 modules and 251 functions of the witx", () => {
    expect(Object.keys(ABI)).toHaveLength(24);
    expect(Object.values(ABI).reduce((n, fns) => n + Object.keys(fns).length, 0)).toBe(251);
  });

  it.skipIf(!existsSync(REFERENCE))("matches the reference signatures exactly", () => {
    const reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as Record<string, Record<string, { params: [string, string][] }>>;
    for (const [module, fns] of Object.entries(reference)) {
      for (const [name, { params }] of Object.entries(fns)) {
        expect(ABI[module]?.[name]?.map(([, type]) => type), `${module}::${name}`).toEqual(params.map(([, type]) => type));
      }
    }
    expect(Object.keys(ABI).sort()).toEqual(Object.keys(reference).sort());
  });

  it("has every implemented host call in the ABI, with the ABI's number of parameters", () => {
    for (const [module, fns] of Object.entries(HOST_MODULES)) {
      if (module === WASI_MODULE) continue;
      for (const [name, fn] of Object.entries(fns)) {
        const params = ABI[module]?.[name];
        expect(params, `${module}::${name} is not in the ABI`).toBeDefined();
        // fn.length counts the session too; 0 marks a stub that ignores its arguments.
        if (fn.length > 0) expect(fn.length - 1, `${module}::${name}`).toBeLessThanOrEqual(params!.length);
      }
    }
  });
});
