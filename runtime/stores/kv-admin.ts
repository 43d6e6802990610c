// The admin API's KV routes (mounted by runtime/admin/admin-api.ts), shaped
// like the platform's KV store item API
// (https://www.fastly.com/documentation/reference/api/services/resources/kv-store-item/)
// with store names in place of store ids. `outpost kv` uses them to reach a
// running server.
//
//   GET    /resources/stores/kv                         the stores
//   GET    /resources/stores/kv/:store/keys             ?prefix= &cursor= &limit=
//   GET    /resources/stores/kv/:store/keys/:key        the value; headers generation, outpost-metadata (base64)
//   PUT    /resources/stores/kv/:store/keys/:key        ?metadata= &ttl= &mode=add|append|prepend &if_generation_match=
//   DELETE /resources/stores/kv/:store/keys/:key
import { Hono, type Context } from "hono";
import type { KvDatabase } from "./kv-database.ts";
import { INSERT_MODE_NAMES, InsertMode, keyProblem, type KvOutcome, MAX_METADATA_BYTES, MAX_VALUE_BYTES } from "./kv-limits.ts";

/** Header carrying an entry's metadata, base64-encoded (metadata is bytes). */
export const METADATA_HEADER = "outpost-metadata";
export const EXPIRES_HEADER = "outpost-expires-at";

const STATUS_OF: Record<Exclude<KvOutcome, "ok">, { status: 400 | 404 | 412 | 413 | 500; msg: string }> = {
  not_found: { status: 404, msg: "Not found" },
  precondition_failed: { status: 412, msg: "Precondition failed" },
  bad_request: { status: 400, msg: "Bad request" },
  payload_too_large: { status: 413, msg: "Payload too large" },
  internal_error: { status: 500, msg: "Internal error" },
};

export function kvAdminRoutes(kv: KvDatabase): Hono {
  const app = new Hono();
  const base = "/resources/stores/kv";

  const fail = (c: Context, outcome: Exclude<KvOutcome, "ok">, detail: string) => c.json({ msg: STATUS_OF[outcome].msg, detail }, STATUS_OF[outcome].status);

  /** The store named in the path, or an answer saying it does not exist. */
  const store = (c: Context): string | Response => {
    const name = c.req.param("store")!;
    if (kv.hasStore(name)) return name;
    const known = kv.storeNames();
    return c.json({ msg: "Unknown KV store", detail: `no KV store "${name}" (stores: ${known.join(", ") || "none"}; declare them under [local_server.kv_stores])` }, 404);
  };
  const key = (c: Context): string | Response => {
    const name = c.req.param("key")!;
    const problem = keyProblem(name);
    return problem ? fail(c, "bad_request", problem) : name;
  };

  app.get(base, (c) => c.json({ data: kv.storeNames().map((name) => ({ id: name, name })), meta: {} }));

  app.get(`${base}/:store/keys`, (c) => {
    const name = store(c);
    if (name instanceof Response) return name;
    const limit = c.req.query("limit");
    const page = kv.list(name, { prefix: c.req.query("prefix"), cursor: c.req.query("cursor"), limit: limit === undefined ? null : Number(limit) });
    if (page === "bad_request") return fail(c, "bad_request", "cursor or limit is not valid (limit is a whole number from 1; cursor is a next_cursor from an earlier page)");
    const meta: Record<string, unknown> = { limit: page.limit };
    if (page.prefix !== null) meta.prefix = page.prefix;
    if (page.nextCursor !== null) meta.next_cursor = page.nextCursor;
    return c.json({ data: page.keys, meta });
  });

  app.get(`${base}/:store/keys/:key{.+}`, (c) => {
    const name = store(c);
    if (name instanceof Response) return name;
    const k = key(c);
    if (k instanceof Response) return k;
    const entry = kv.lookup(name, k);
    if (!entry) return fail(c, "not_found", `no key "${k}" in KV store "${name}"`);
    c.header("generation", String(entry.generation));
    if (entry.metadata) c.header(METADATA_HEADER, Buffer.from(entry.metadata).toString("base64"));
    if (entry.expiresAt !== null) c.header(EXPIRES_HEADER, new Date(entry.expiresAt).toISOString());
    c.header("content-type", "application/octet-stream");
    return c.body(new Uint8Array(entry.value));
  });

  app.put(`${base}/:store/keys/:key{.+}`, async (c) => {
    const name = store(c);
    if (name instanceof Response) return name;
    const k = key(c);
    if (k instanceof Response) return k;
    const declared = Number(c.req.header("content-length") ?? NaN);
    if (declared > MAX_VALUE_BYTES) return fail(c, "payload_too_large", `a value is at most ${MAX_VALUE_BYTES} bytes`);
    const value = new Uint8Array(await c.req.arrayBuffer());
    if (value.byteLength > MAX_VALUE_BYTES) return fail(c, "payload_too_large", `a value is at most ${MAX_VALUE_BYTES} bytes`);
    const metadataText = c.req.query("metadata");
    const metadata = metadataText === undefined ? null : new TextEncoder().encode(metadataText);
    if (metadata && metadata.byteLength > MAX_METADATA_BYTES) return fail(c, "bad_request", `metadata is at most ${MAX_METADATA_BYTES} bytes`);
    const ttlText = c.req.query("ttl");
    const ttl = ttlText === undefined ? null : Number(ttlText);
    if (ttl !== null && !(Number.isInteger(ttl) && ttl > 0 && ttl <= 0xffffffff)) return fail(c, "bad_request", "ttl is a whole number of seconds above 0");
    const modeName = c.req.query("mode") ?? "overwrite";
    const mode = INSERT_MODE_NAMES.indexOf(modeName as (typeof INSERT_MODE_NAMES)[number]);
    if (mode < 0) return fail(c, "bad_request", `mode is one of ${INSERT_MODE_NAMES.join(", ")}`);
    const match = c.req.query("if_generation_match");
    if (match !== undefined && !/^\d+$/.test(match)) return fail(c, "bad_request", "if_generation_match is a generation number");
    const outcome = await kv.insert(name, k, value, {
      mode: mode as InsertMode,
      metadata,
      ttlSec: ttl,
      ifGenerationMatch: match === undefined ? null : BigInt(match),
    });
    if (outcome !== "ok") return fail(c, outcome, describe(outcome, name, k, mode));
    const written = kv.lookup(name, k);
    return c.json({ status: "ok", generation: written?.generation ?? null });
  });

  app.delete(`${base}/:store/keys/:key{.+}`, async (c) => {
    const name = store(c);
    if (name instanceof Response) return name;
    const k = key(c);
    if (k instanceof Response) return k;
    const outcome = await kv.delete(name, k);
    if (outcome !== "ok") return fail(c, outcome, describe(outcome, name, k, InsertMode.OVERWRITE));
    return c.body(null, 204);
  });

  return app;
}

function describe(outcome: Exclude<KvOutcome, "ok">, store: string, key: string, mode: number): string {
  switch (outcome) {
    case "not_found":
      return `no key "${key}" in KV store "${store}"`;
    case "precondition_failed":
      return mode === InsertMode.ADD ? `"${key}" already exists (mode add)` : `"${key}" is not at that generation`;
    case "payload_too_large":
      return `the value would be larger than ${MAX_VALUE_BYTES} bytes`;
    case "bad_request":
      return "the request is not valid";
    case "internal_error":
      return "the write could not be stored (see the server's log)";
    default: {
      const never: never = outcome;
      return String(never);
    }
  }
}
