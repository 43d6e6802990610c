// The KV database on its own: writes and their modes, generations, TTLs (with
// a fake clock), listing and its pages, seeds across restarts, and two
// processes' worth of writers on one state directory.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { KvStoreConfig } from "../../runtime/config/kv-stores.ts";
import { KvDatabase, KvStateError, type KvWrite } from "../../runtime/stores/kv-database.ts";
import { InsertMode, MAX_VALUE_BYTES } from "../../runtime/stores/kv-limits.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value ? Buffer.from(value).toString("utf8") : undefined);
const write = (options: Partial<KvWrite> = {}): KvWrite => ({ mode: InsertMode.OVERWRITE, metadata: null, ttlSec: null, ifGenerationMatch: null, ...options });
const store = (name: string, seeds: Record<string, string> = {}): KvStoreConfig => ({
  name,
  seeds: Object.entries(seeds).map(([key, value]) => ({ key, value: bytes(value), metadata: null })),
});

const dirs: string[] = [];
const open: KvDatabase[] = [];
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-kv-"));
  dirs.push(dir);
  return dir;
}
function database(dir: string | null, now?: () => number): KvDatabase {
  const kv = KvDatabase.open({ dir, now });
  open.push(kv);
  return kv;
}

afterEach(async () => {
  for (const kv of open.splice(0)) await kv.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("writes", () => {
  it("counts generations from 1 and honours if_generation_match as compare-and-swap", async () => {
    const kv = database(null);
    kv.declareStores([store("s")]);
    expect(await kv.insert("s", "k", bytes("a"), write())).toBe("ok");
    expect(kv.lookup("s", "k")?.generation).toBe(1);
    expect(await kv.insert("s", "k", bytes("b"), write({ ifGenerationMatch: 7n }))).toBe("precondition_failed");
    expect(text(kv.lookup("s", "k")?.value)).toBe("a");
    expect(await kv.insert("s", "k", bytes("b"), write({ ifGenerationMatch: 1n }))).toBe("ok");
    expect(kv.lookup("s", "k")).toMatchObject({ generation: 2 });
    // A generation to match does not constrain a key that does not exist (as the reference emulator).
    expect(await kv.insert("s", "new", bytes("n"), write({ ifGenerationMatch: 5n }))).toBe("ok");
  });

  it("applies concurrent compare-and-swaps one at a time: exactly one of a round wins", async () => {
    const kv = database(stateDir());
    kv.declareStores([store("s", { n: "0" })]);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.insert("s", "n", bytes(String(i)), write({ ifGenerationMatch: 1n }))));
    expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(1);
    expect(kv.lookup("s", "n")?.generation).toBe(2);
  });

  it("adds only new keys, appends and prepends to live ones, and replaces metadata with each write", async () => {
    const kv = database(null);
    kv.declareStores([store("s")]);
    expect(await kv.insert("s", "k", bytes("mid"), write({ mode: InsertMode.ADD, metadata: bytes("m1") }))).toBe("ok");
    expect(await kv.insert("s", "k", bytes("x"), write({ mode: InsertMode.ADD }))).toBe("precondition_failed");
    expect(await kv.insert("s", "k", bytes("-end"), write({ mode: InsertMode.APPEND }))).toBe("ok");
    expect(await kv.insert("s", "k", bytes("start-"), write({ mode: InsertMode.PREPEND, metadata: bytes("m2") }))).toBe("ok");
    expect(kv.lookup("s", "k")).toMatchObject({ generation: 3 });
    expect(text(kv.lookup("s", "k")?.value)).toBe("start-mid-end");
    expect(text(kv.lookup("s", "k")?.metadata ?? undefined)).toBe("m2");
    expect(await kv.insert("s", "fresh", bytes("only"), write({ mode: InsertMode.APPEND }))).toBe("ok");
    expect(text(kv.lookup("s", "fresh")?.value)).toBe("only");
  });

  it("refuses a value that would pass the size limit, appends included", async () => {
    const kv = database(null);
    kv.declareStores([store("s")]);
    expect(await kv.insert("s", "big", new Uint8Array(MAX_VALUE_BYTES), write())).toBe("ok");
    expect(await kv.insert("s", "big", new Uint8Array(1), write({ mode: InsertMode.APPEND }))).toBe("payload_too_large");
    expect(kv.lookup("s", "big")?.value.byteLength).toBe(MAX_VALUE_BYTES);
  });

  it("deletes live keys and reports missing ones", async () => {
    const kv = database(null);
    kv.declareStores([store("s", { k: "v" })]);
    expect(await kv.delete("s", "k")).toBe("ok");
    expect(kv.lookup("s", "k")).toBeNull();
    expect(await kv.delete("s", "k")).toBe("not_found");
    expect(await kv.insert("s", "k", bytes("again"), write())).toBe("ok");
    expect(kv.lookup("s", "k")?.generation).toBe(1);
  });

  it("expires entries at their TTL by the clock it is given", async () => {
    let now = 1_000_000;
    const kv = database(null, () => now);
    kv.declareStores([store("s")]);
    await kv.insert("s", "t", bytes("v"), write({ ttlSec: 60 }));
    expect(kv.lookup("s", "t")?.expiresAt).toBe(1_060_000);
    now += 59_999;
    expect(kv.lookup("s", "t")).not.toBeNull();
    now += 1;
    expect(kv.lookup("s", "t")).toBeNull();
    expect(kv.list("s")).toMatchObject({ keys: [] });
    expect(await kv.delete("s", "t")).toBe("not_found");
    // An expired key can be added again, from generation 1.
    expect(await kv.insert("s", "t", bytes("w"), write({ mode: InsertMode.ADD }))).toBe("ok");
    expect(kv.lookup("s", "t")?.generation).toBe(1);
  });
});

describe("listing", () => {
  it("pages through 10,000 keys: all of them, in byte order, without duplicates, filtered by prefix", async () => {
    const kv = database(stateDir());
    kv.declareStores([store("s")]);
    const keys = Array.from({ length: 10_000 }, (_, i) => `${i % 2 ? "odd" : "even"}/${String(i).padStart(5, "0")}`);
    await Promise.all(keys.map((key) => kv.insert("s", key, bytes("v"), write())));
    const pages = (prefix: string | null, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let count = 0;
      do {
        const page = kv.list("s", { prefix, cursor, limit });
        if (page === "bad_request") throw new Error("bad request");
        seen.push(...page.keys);
        cursor = page.nextCursor;
        count++;
      } while (cursor !== null);
      return { seen, count };
    };
    const all = pages(null, 1000);
    expect(all.seen).toEqual([...keys].sort());
    expect(new Set(all.seen).size).toBe(10_000);
    expect(all.count).toBe(10);
    const odd = pages("odd/", 333);
    expect(odd.seen).toEqual(keys.filter((key) => key.startsWith("odd/")).sort());
    expect(odd.count).toBe(Math.ceil(5000 / 333));
  });

  it("ends the last page without a cursor, and refuses a cursor it did not make or a limit below 1", async () => {
    const kv = database(null);
    kv.declareStores([store("s", { a: "1", b: "2" })]);
    expect(kv.list("s", { limit: 2 })).toEqual({ keys: ["a", "b"], nextCursor: null, limit: 2, prefix: null });
    expect(kv.list("s", { cursor: "boooo" })).toBe("bad_request");
    expect(kv.list("s", { limit: 0 })).toBe("bad_request");
  });

  it("filters prefixes by code point, beyond ASCII", async () => {
    const kv = database(null);
    kv.declareStores([store("s")]);
    for (const key of ["é", "éa", "éz", "ê", "e", "\u{10ffff}x", "\u{10ffff}", "\uffff", "𝄞a"]) await kv.insert("s", key, bytes("v"), write());
    expect(kv.list("s", { prefix: "é" })).toMatchObject({ keys: ["é", "éa", "éz"] });
    expect(kv.list("s", { prefix: "\u{10ffff}" })).toMatchObject({ keys: ["\u{10ffff}", "\u{10ffff}x"] });
    expect(kv.list("s", { prefix: "\uffff" })).toMatchObject({ keys: ["\uffff"] });
  });
});

describe("the state directory", () => {
  it("keeps writes across a reopen, and seeds only keys the state does not have", async () => {
    const dir = stateDir();
    const first = database(dir);
    expect(first.declareStores([store("s", { seeded: "v1", kept: "seed" })])).toEqual({ seeded: 2, kept: 0 });
    await first.insert("s", "kept", bytes("app"), write());
    await first.insert("s", "own", bytes("mine"), write());
    await first.close();

    const second = database(dir);
    expect(second.declareStores([store("s", { seeded: "v2", kept: "seed2" })])).toEqual({ seeded: 1, kept: 1 });
    // A seed the app never touched follows fastly.toml; one it wrote keeps the app's value.
    expect(text(second.lookup("s", "seeded")?.value)).toBe("v2");
    expect(text(second.lookup("s", "kept")?.value)).toBe("app");
    expect(text(second.lookup("s", "own")?.value)).toBe("mine");
  });

  it("remembers that the app deleted a seeded key, and drops seeds that leave fastly.toml", async () => {
    const dir = stateDir();
    const first = database(dir);
    first.declareStores([store("s", { deleted: "x", dropped: "y" })]);
    expect(await first.delete("s", "deleted")).toBe("ok");
    await first.close();

    const second = database(dir);
    second.declareStores([store("s", { deleted: "x" }), store("t")]);
    expect(second.lookup("s", "deleted")).toBeNull();
    expect(second.lookup("s", "dropped")).toBeNull();
    expect(second.storeNames()).toEqual(["s", "t"]);
  });

  it("says so when the state file is not a KV database", () => {
    const dir = stateDir();
    writeFileSync(join(dir, "kv.sqlite"), "this is not a database, just some text long enough to look like a header ".repeat(20));
    expect(() => KvDatabase.open({ dir })).toThrow(KvStateError);
    expect(() => KvDatabase.open({ dir })).toThrow(/cannot use the KV state .*kv\.sqlite: file is not a database/);
  });

  it("opens an existing directory only when it holds KV state", async () => {
    const dir = stateDir();
    expect(KvDatabase.openExisting(dir)).toBeNull();
    database(dir).declareStores([store("s", { k: "v" })]);
    const other = KvDatabase.openExisting(dir)!;
    open.push(other);
    expect(text(other.lookup("s", "k")?.value)).toBe("v");
  });

  it("serializes compare-and-swaps from two connections (two processes) on one directory", async () => {
    const dir = stateDir();
    const a = database(dir);
    a.declareStores([store("s", { n: "0" })]);
    const b = KvDatabase.openExisting(dir)!;
    open.push(b);
    const increment = async (kv: KvDatabase) => {
      for (;;) {
        const entry = kv.lookup("s", "n")!;
        const next = bytes(String(Number(text(entry.value)) + 1));
        if ((await kv.insert("s", "n", next, write({ ifGenerationMatch: BigInt(entry.generation) }))) === "ok") return;
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => increment(i % 2 ? a : b)));
    expect(text(a.lookup("s", "n")?.value)).toBe("50");
    expect(b.lookup("s", "n")?.generation).toBe(51);
  });
});
