// The admin API's routes, shaped like the platform's purge API
// (https://www.fastly.com/documentation/reference/api/purging/) so that
// existing purge tooling can point at a local server, plus /metrics and
// /health. One server serves one service: any service id is accepted.
import { Hono, type Context } from "hono";
import type { Readthrough } from "../cache/readthrough.ts";
import { presentedToken, tokenMatches, UNAUTHORIZED } from "./auth.ts";
import { isSoftPurge, MAX_KEYS_PER_PURGE, purgeId, splitKeys, urlPurgeKey } from "./purge-target.ts";
import type { RequestCounters } from "./request-counters.ts";
import type { KvDatabase } from "../stores/kv-database.ts";
import { kvAdminRoutes } from "../stores/kv-admin.ts";

export interface AdminApiOptions {
  cache: Readthrough;
  /** Required as `Fastly-Key` on everything but /health, when set. */
  token?: string;
  /** The serving port's responses by status class, for /metrics. */
  requests?: RequestCounters;
  /** The KV stores, for `outpost kv` (routes in runtime/stores/kv-admin.ts). */
  kv?: KvDatabase;
}

/** The header every purge answer carries with the number of objects purged (or marked stale). */
export const PURGED_HEADER = "outpost-purged";

export function adminApi(options: AdminApiOptions): Hono {
  const { cache, token } = options;
  const app = new Hono();

  app.get("/health", (c) => c.json({ status: "ok" }));

  if (token !== undefined) {
    app.use("*", async (c, next) => {
      const given = presentedToken(c.req.header("fastly-key"), c.req.header("authorization"));
      if (!tokenMatches(given, token)) return c.json(UNAUTHORIZED, 401);
      await next();
    });
  }

  const purged = (c: Context, count: number, body: Record<string, unknown>) => {
    c.header(PURGED_HEADER, String(count));
    return c.json(body);
  };
  const soft = (c: Context) => isSoftPurge(c.req.header("fastly-soft-purge"));

  // One surrogate key.
  app.post("/service/:id/purge/:key", (c) => {
    const count = cache.purgeSurrogateKeys([c.req.param("key")], soft(c));
    return purged(c, count, { status: "ok", id: purgeId(), purged: count });
  });

  // A batch of keys, in a Surrogate-Key header or a {"surrogate_keys": [...]} body; answered
  // like the platform, with a purge id per key.
  app.post("/service/:id/purge", async (c) => {
    const keys = splitKeys(c.req.header("surrogate-key"));
    if (keys.length === 0) {
      const body = (await c.req.json().catch(() => null)) as { surrogate_keys?: unknown } | null;
      const listed = body?.surrogate_keys;
      if (Array.isArray(listed)) keys.push(...listed.filter((k): k is string => typeof k === "string" && k.length > 0));
    }
    if (keys.length === 0) return c.json({ msg: "No surrogate keys", detail: "list them in a Surrogate-Key header or a surrogate_keys JSON array" }, 400);
    if (keys.length > MAX_KEYS_PER_PURGE) return c.json({ msg: "Too many surrogate keys", detail: `at most ${MAX_KEYS_PER_PURGE} per request` }, 400);
    const count = cache.purgeSurrogateKeys(keys, soft(c));
    return purged(c, count, Object.fromEntries(keys.map((key) => [key, purgeId()])));
  });

  // Everything. As on the platform, a purge-all is never soft.
  app.post("/service/:id/purge_all", (c) => {
    const count = cache.purgeAll();
    return purged(c, count, { status: "ok", id: purgeId(), purged: count });
  });

  // One URL: POST /purge/<host>/<path>[?query].
  app.post("/purge/*", (c) => {
    const url = new URL(c.req.url);
    const key = urlPurgeKey(url.pathname.slice("/purge/".length) + url.search);
    if (!key) return c.json({ msg: "No URL to purge", detail: "POST /purge/<host>/<path>" }, 400);
    const count = cache.purgeUrl(key, soft(c));
    return purged(c, count, { status: "ok", id: purgeId(), purged: count });
  });

  app.get("/metrics", (c) => {
    const text = cache.metrics.prometheus(cache.store.stats()) + (options.requests?.prometheus() ?? "");
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  if (options.kv) app.route("/", kvAdminRoutes(options.kv));

  app.notFound((c) => c.json({ msg: "Not found", detail: `${c.req.method} ${new URL(c.req.url).pathname} is not part of the admin API` }, 404));
  app.onError((error, c) => c.json({ msg: "Internal error", detail: error.message }, 500));
  return app;
}
