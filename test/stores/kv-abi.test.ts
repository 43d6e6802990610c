// `fastly_kv_store` and `fastly_object_store` call by call, through the
// scriptable WAT guest: exact statuses, `$kv_error`s, generations, metadata
// buffers, modes, TTLs, listing, and the handles `select` waits on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watFixture } from "../helpers/wat.ts";
import { INVALID_HANDLE, InsertMask, KvError, KvScript, ListMask, Mode, Status } from "./kv-script.ts";
import { type KvTestServer, kvServer } from "./kv-server.ts";

let server: KvTestServer;
let now = Date.UTC(2030, 0, 1);

beforeAll(async () => {
  server = await kvServer(watFixture("kv-script"), {
    manifest: `
      [local_server.kv_stores]
      store = [
        { key = "seeded", data = "from fastly.toml", metadata = "seed metadata" },
        { key = "list/a", data = "1" }, { key = "list/b", data = "2" }, { key = "list/c", data = "3" },
        { key = "list/d", data = "4" }, { key = "listx", data = "5" },
      ]
      other = []
    `,
    clock: () => now,
  });
});
afterAll(() => server?.close());

/** A script with store "store" open in register 0. */
function script(): KvScript {
  const s = new KvScript();
  s.open("store", 0);
  return s;
}

describe("open", () => {
  it("opens declared stores and answers inval (and logs why) for others", async () => {
    const s = new KvScript();
    const known = s.open("other", 0);
    const unknown = s.open("nope", 1);
    const out = await s.run(server);
    expect(out[known].status).toBe(Status.OK);
    expect(out[unknown].status).toBe(Status.INVAL);
    expect(server.logger.lines.some((line) => line.includes('unknown KV store "nope" (defined: other, store'))).toBe(true);
  });
});

describe("lookup", () => {
  it("finds a seeded entry with its metadata and generation; v1 reports generation 0", async () => {
    const s = script();
    s.lookup(0, "seeded", 1);
    const v2 = s.lookupWait(1);
    s.lookup(0, "seeded", 2);
    const v1 = s.lookupWaitV1(2);
    const out = await s.run(server);
    expect(out[v2]).toMatchObject({ status: Status.OK, kvError: KvError.OK, nwritten: 13, generation: 1n, metadata: "seed metadata", text: "from fastly.toml" });
    expect(out[v1]).toMatchObject({ status: Status.OK, kvError: KvError.OK, generation: 0n, text: "from fastly.toml" });
  });

  it("reports not_found with no body for a missing key", async () => {
    const s = script();
    s.lookup(0, "missing", 1);
    const wait = s.lookupWait(1);
    const out = await s.run(server);
    expect(out[wait]).toEqual({ status: Status.OK, kvError: KvError.NOT_FOUND, nwritten: 0, generation: 0n });
  });

  it("answers buflen with the metadata's length and keeps the handle for a retry", async () => {
    const s = script();
    s.lookup(0, "seeded", 1);
    const small = s.lookupWait(1, 4);
    const retry = s.lookupWait(1, 13);
    const again = s.lookupWait(1);
    const out = await s.run(server);
    expect(out[small]).toMatchObject({ status: Status.BUFLEN, nwritten: 13 });
    expect(out[retry]).toMatchObject({ status: Status.OK, kvError: KvError.OK, metadata: "seed metadata" });
    expect(out[again].status).toBe(Status.BADF); // a finished lookup's handle is gone
  });

  it("rejects keys the platform refuses with inval, before any lookup", async () => {
    const s = script();
    const bad = ["", ".", "..", "a#b", "a;b", "a?b", "a^b", "a|b", "a\nb", "a\rb", ".well-known/acme-challenge/x", "x".repeat(1025), " ", "\u0001"].map((key) => s.lookup(0, key, 1));
    const fine = [s.lookup(0, "x".repeat(1024), 2), s.lookup(0, "a/../b", 3), s.lookup(0, ".well-known/other", 4)];
    const invalidUtf8 = s.lookup(0, new Uint8Array([0xff, 0xfe]), 5);
    const out = await s.run(server);
    for (const index of bad) expect(out[index].status, `key #${index}`).toBe(Status.INVAL);
    for (const index of fine) expect(out[index].status).toBe(Status.OK);
    expect(out[invalidUtf8].status).toBe(Status.INVAL);
  });

  it("rejects unknown option bits and bad handles", async () => {
    const s = script();
    const mask = s.lookup(0, "seeded", 1, 1);
    s.set(9, 12345);
    const badStore = s.lookup(9, "seeded", 1);
    s.insert(0, "handle-kind", "v", 2);
    const wrongKind = s.lookupWait(2);
    const out = await s.run(server);
    expect(out[mask].status).toBe(Status.INVAL);
    expect(out[badStore].status).toBe(Status.BADF);
    expect(out[wrongKind].status).toBe(Status.BADF);
  });

  it("hands out large values as a body read on demand", async () => {
    const value = Buffer.alloc(300_000, "abcdefgh").toString();
    const s = script();
    s.insert(0, "large", value, 1);
    const wrote = s.insertWait(1);
    s.lookup(0, "large", 2);
    const read = s.lookupWait(2);
    const out = await s.run(server);
    expect(out[wrote].kvError).toBe(KvError.OK);
    expect(out[read].bytes?.byteLength).toBe(300_000);
    expect(out[read].text).toBe(value);
  });
});

describe("insert", () => {
  it("writes with metadata and counts generations; if_generation_match fails on a mismatch", async () => {
    const s = script();
    s.insert(0, "gen", "one", 1, { metadata: "m1" });
    s.insertWait(1);
    s.insert(0, "gen", "two", 2, { ifGenerationMatch: 1n });
    const matched = s.insertWait(2);
    s.insert(0, "gen", "three", 3, { ifGenerationMatch: 1n });
    const stale = s.insertWait(3);
    s.lookup(0, "gen", 4);
    const after = s.lookupWait(4);
    const out = await s.run(server);
    expect(out[matched]).toEqual({ status: Status.OK, kvError: KvError.OK });
    expect(out[stale]).toEqual({ status: Status.OK, kvError: KvError.PRECONDITION_FAILED });
    // The second write carried no metadata: each write replaces it.
    expect(out[after]).toMatchObject({ kvError: KvError.OK, generation: 2n, text: "two", nwritten: 0, metadata: "" });
  });

  it("adds only missing keys, appends and prepends, and accepts background_fetch", async () => {
    const s = script();
    s.insert(0, "modes", "mid", 1, { mode: Mode.ADD });
    const added = s.insertWait(1);
    s.insert(0, "modes", "again", 2, { mode: Mode.ADD });
    const twice = s.insertWait(2);
    s.insert(0, "modes", ">", 3, { mode: Mode.APPEND, backgroundFetch: true });
    s.insertWait(3);
    s.insert(0, "modes", "<", 4, { mode: Mode.PREPEND });
    s.insertWait(4);
    s.lookup(0, "modes", 5);
    const result = s.lookupWait(5);
    const out = await s.run(server);
    expect(out[added].kvError).toBe(KvError.OK);
    expect(out[twice].kvError).toBe(KvError.PRECONDITION_FAILED);
    expect(out[result]).toMatchObject({ text: "<mid>", generation: 3n });
  });

  it("expires an entry after its TTL", async () => {
    const s = script();
    s.insert(0, "ttl", "short-lived", 1, { ttlSec: 30 });
    s.insertWait(1);
    s.lookup(0, "ttl", 2);
    const fresh = s.lookupWait(2);
    const first = await s.run(server);
    expect(first[fresh].text).toBe("short-lived");
    now += 30_000;
    const t = script();
    t.lookup(0, "ttl", 1);
    const expired = t.lookupWait(1);
    expect((await t.run(server))[expired].kvError).toBe(KvError.NOT_FOUND);
  });

  it("refuses metadata over 2000 bytes as bad_request, and unknown modes or option bits as inval", async () => {
    const s = script();
    s.insert(0, "meta", "v", 1, { metadata: "m".repeat(2001) });
    const tooMuch = s.insertWait(1);
    s.insert(0, "meta", "v", 2, { metadata: "m".repeat(2000) });
    const enough = s.insertWait(2);
    const mode = s.insert(0, "meta", "v", 3, { mode: 4 });
    const reserved = s.insert(0, "meta", "v", 3, { extraMask: InsertMask.RESERVED });
    const reserved2 = s.insert(0, "meta", "v", 3, { extraMask: InsertMask.RESERVED_2 });
    const badKey = s.insert(0, "a|b", "v", 3);
    const out = await s.run(server);
    expect(out[tooMuch].kvError).toBe(KvError.BAD_REQUEST);
    expect(out[enough].kvError).toBe(KvError.OK);
    for (const index of [mode, reserved, reserved2, badKey]) expect(out[index].status).toBe(Status.INVAL);
  });
});

describe("value size", () => {
  it("takes values up to 25 MiB and refuses larger ones with payload_too_large", async () => {
    const s = script();
    s.insertSized(0, "huge", 25 * 1024 * 1024, 1);
    const largest = s.insertWait(1);
    s.insertSized(0, "huge", 25 * 1024 * 1024 + 1, 2);
    const over = s.insertWait(2);
    s.insert(0, "huge", "!", 3, { mode: Mode.APPEND });
    const appended = s.insertWait(3);
    const out = await s.run(server);
    expect(out[largest].kvError).toBe(KvError.OK);
    expect(out[over].kvError).toBe(KvError.PAYLOAD_TOO_LARGE);
    expect(out[appended].kvError).toBe(KvError.PAYLOAD_TOO_LARGE);
  }, 60_000);
});

describe("delete", () => {
  it("deletes a key, then reports not_found", async () => {
    const s = script();
    s.insert(0, "doomed", "v", 1);
    s.insertWait(1);
    s.delete(0, "doomed", 2);
    const deleted = s.deleteWait(2);
    s.delete(0, "doomed", 3);
    const again = s.deleteWait(3);
    s.lookup(0, "doomed", 4);
    const gone = s.lookupWait(4);
    const mask = s.delete(0, "doomed", 5, 1);
    const out = await s.run(server);
    expect(out[deleted]).toEqual({ status: Status.OK, kvError: KvError.OK });
    expect(out[again]).toEqual({ status: Status.OK, kvError: KvError.NOT_FOUND });
    expect(out[gone].kvError).toBe(KvError.NOT_FOUND);
    expect(out[mask].status).toBe(Status.INVAL);
  });
});

describe("list", () => {
  const parse = (text: string | undefined) => JSON.parse(text ?? "null") as { data: string[]; meta: Record<string, unknown> };

  it("lists by prefix in pages, the JSON the SDKs read", async () => {
    const s = script();
    s.list(0, 1, { prefix: "list/", limit: 3 });
    const first = s.listWait(1);
    const out = await s.run(server);
    const page = parse(out[first].text);
    expect(page).toEqual({ data: ["list/a", "list/b", "list/c"], meta: { limit: 3, prefix: "list/", next_cursor: expect.any(String), mode: "strong" } });

    const t = script();
    t.list(0, 1, { prefix: "list/", limit: 3, cursor: page.meta.next_cursor as string, mode: 1 });
    const second = t.listWait(1);
    const rest = parse((await t.run(server))[second].text);
    expect(rest).toEqual({ data: ["list/d"], meta: { limit: 3, prefix: "list/", mode: "eventual" } });
  });

  it("answers bad_request for a cursor it did not make or a zero limit, inval for unknown bits or modes", async () => {
    const s = script();
    s.list(0, 1, { cursor: "boooo" });
    const cursor = s.listWait(1);
    s.list(0, 2, { limit: 0 });
    const zero = s.listWait(2);
    const bits = s.list(0, 3, { extraMask: ListMask.RESERVED });
    const mode = s.list(0, 3, { mode: 2 });
    const out = await s.run(server);
    expect(out[cursor]).toEqual({ status: Status.OK, kvError: KvError.BAD_REQUEST });
    expect(out[zero]).toEqual({ status: Status.OK, kvError: KvError.BAD_REQUEST });
    expect(out[bits].status).toBe(Status.INVAL);
    expect(out[mode].status).toBe(Status.INVAL);
  });
});

describe("waiting", () => {
  it("lets is_ready and select wait on pending KV operations", async () => {
    const s = script();
    s.lookup(0, "seeded", 1);
    const selected = s.select(1, 0);
    const ready = s.isReady(1);
    const found = s.lookupWait(1);
    const out = await s.run(server);
    expect(out[selected]).toEqual({ status: Status.OK, value: 0 });
    expect(out[ready]).toEqual({ status: Status.OK, value: 1 });
    expect(out[found].text).toBe("from fastly.toml");
  });

  it("writes no handle through a bad out-pointer", async () => {
    const s = script();
    s.lookup(0, "seeded", 1);
    const wild = s.lookupWaitAt(1, 0x7fff_fff0, 64);
    const found = s.lookupWait(1);
    const out = await s.run(server);
    expect(out[wild].status).toBe(Status.INVAL);
    expect(out[found].text).toBe("from fastly.toml");
  });
});

describe("fastly_object_store", () => {
  it("reads and writes the same stores with statuses for outcomes", async () => {
    const s = new KvScript();
    s.objOpen("store", 0);
    const unknown = s.objOpen("nope", 9);
    const seeded = s.objLookup(0, "seeded");
    const missing = s.objLookup(0, "obj-missing");
    const inserted = s.objInsert(0, "obj", "sync");
    const read = s.objLookup(0, "obj");
    s.objInsertAsync(0, "obj", "async", 1);
    const insertWait = s.objInsertWait(1);
    s.objLookupAsync(0, "obj", 2);
    const lookupWait = s.objLookupWait(2);
    s.objDeleteAsync(0, "obj", 3);
    const deleted = s.objDeleteWait(3);
    s.objDeleteAsync(0, "obj", 4);
    const deletedAgain = s.objDeleteWait(4);
    const badKey = s.objLookup(0, "a#b");
    const out = await s.run(server);
    expect(out[unknown].status).toBe(Status.INVAL);
    expect(out[seeded]).toMatchObject({ status: Status.OK, value: 1, text: "from fastly.toml" });
    expect(out[missing]).toEqual({ status: Status.OK, value: 0 });
    expect(out[inserted].status).toBe(Status.OK);
    expect(out[read].text).toBe("sync");
    expect(out[insertWait].status).toBe(Status.OK);
    expect(out[lookupWait]).toMatchObject({ status: Status.OK, text: "async" });
    expect(out[deleted].status).toBe(Status.OK);
    expect(out[deletedAgain].status).toBe(Status.NONE);
    expect(out[badKey].status).toBe(Status.INVAL);
  });

  it("shares handles with fastly_kv_store: a KV lookup handle waits through the object store call", async () => {
    const s = script();
    s.lookup(0, "seeded", 1);
    const waited = s.objLookupWait(1);
    const out = await s.run(server);
    expect(out[waited]).toMatchObject({ status: Status.OK, value: 1, text: "from fastly.toml" });
    expect(INVALID_HANDLE).toBe(0xfffffffe);
  });
});
