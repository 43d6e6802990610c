// Purging from outside the guest: the admin API shaped like the platform's
// purge API, the PURGE method on the serving address, token auth, and the
// admin's /metrics and /health, against a real server and origin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../runtime/server/start-server.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { watFixture } from "../helpers/wat.ts";

const PROXY = watFixture("cache-proxy");

async function serveWithAdmin(origin: Origin, options: Partial<ServerOptions> = {}): Promise<RunningServer & { admin: { url: string } }> {
  const server = await startServer({
    wasm: PROXY,
    manifest: parseManifest(`[local_server.backends.origin]\nurl = "${origin.url}"\n`, null, process.cwd()),
    port: 0,
    workers: 1,
    logger: new MemoryLogger(),
    admin: { host: "127.0.0.1", port: 0 },
    ...options,
  });
  if (!server.admin) throw new Error("the admin API did not start");
  return server as RunningServer & { admin: { url: string } };
}

describe("admin purge API", () => {
  let origin: Origin;
  let server: RunningServer & { admin: { url: string } };
  /** Host and path of the server's URLs, as the cache keys them. */
  let host: string;
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      const url = new URL(req.url!, "http://x");
      res.setHeader("cache-control", url.searchParams.get("cc") ?? "max-age=600");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      res.end(`${url.pathname} #${origin.requests.length}`);
    });
    server = await serveWithAdmin(origin);
    host = new URL(server.url).host;
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  const get = async (path: string) => {
    const response = await fetch(server.url + path);
    return { cache: response.headers.get("x-cache"), status: response.headers.get("cache-status"), body: await response.text() };
  };
  const admin = (path: string, init: RequestInit = {}) => fetch(server.admin.url + path, { method: "POST", ...init });
  const originCount = (path: string) => origin.requests.filter((r) => r.url === path).length;

  it("purges one surrogate key, answering like the platform", async () => {
    await get("/k1?sk=red%20shared");
    await get("/k2?sk=blue%20shared");
    expect((await get("/k1?sk=red%20shared")).cache).toBe("HIT");
    const response = await admin("/service/SU1Z0isxPaozGVKXdv0eY/purge/red");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toMatchObject({ status: "ok", purged: 1 });
    expect(body.id).toMatch(/^\d+-\d+-\d+$/);
    expect((await get("/k1?sk=red%20shared")).cache).toBe("MISS");
    expect((await get("/k2?sk=blue%20shared")).cache).toBe("HIT");
  });

  it("purges a batch of keys from a Surrogate-Key header or a JSON body", async () => {
    for (const p of ["/b1?sk=b1", "/b2?sk=b2", "/b3?sk=b3"]) await get(p);
    const response = await admin("/service/local/purge", { headers: { "surrogate-key": "b1 b2 nothing-tagged" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("outpost-purged")).toBe("2");
    // The platform answers a batch with a purge id per key.
    expect(Object.keys(await response.json()).sort()).toEqual(["b1", "b2", "nothing-tagged"]);
    expect((await get("/b1?sk=b1")).cache).toBe("MISS");
    expect((await get("/b2?sk=b2")).cache).toBe("MISS");
    expect((await get("/b3?sk=b3")).cache).toBe("HIT");

    const json = await admin("/service/local/purge", { headers: { "content-type": "application/json" }, body: JSON.stringify({ surrogate_keys: ["b3"] }) });
    expect(json.headers.get("outpost-purged")).toBe("1");
    expect((await get("/b3?sk=b3")).cache).toBe("MISS");

    const none = await admin("/service/local/purge");
    expect(none.status).toBe(400);
    expect((await none.json()).msg).toMatch(/surrogate keys/i);
  });

  it("purges one URL by host and path", async () => {
    await get("/u?sk=u");
    await get("/u2?sk=u");
    const response = await admin(`/purge/${host}/u?sk=u`);
    expect(await response.json()).toMatchObject({ status: "ok", purged: 1 });
    expect((await get("/u?sk=u")).cache).toBe("MISS");
    expect((await get("/u2?sk=u")).cache).toBe("HIT");
    // With a scheme, as some tools send it, and a host in capitals.
    const again = await admin(`/purge/http://${host.toUpperCase()}/u2?sk=u`);
    expect((await again.json()).purged).toBe(1);
    expect((await get("/u2?sk=u")).cache).toBe("MISS");
  });

  it("soft-purges: the object is served stale while it revalidates", async () => {
    const path = "/soft?sk=soft&cc=max-age%3D600%2C%20stale-while-revalidate%3D600";
    await get(path);
    expect((await get(path)).cache).toBe("HIT");
    const before = originCount(path);
    const response = await admin("/service/local/purge/soft", { headers: { "fastly-soft-purge": "1" } });
    expect((await response.json()).purged).toBe(1);
    const stale = await get(path);
    expect(stale.cache).toBe("HIT");
    expect(stale.status).toMatch(/stale-while-revalidate/);
    // One background revalidation refreshes it.
    await expect.poll(() => originCount(path), { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(async () => (await get(path)).status, { timeout: 10_000 }).toMatch(/^Outpost; hit; ttl=\d+$/);
  });

  it("answers PURGE on the serving address before any guest runs", async () => {
    await get("/m?sk=m");
    expect((await get("/m?sk=m")).cache).toBe("HIT");
    const response = await fetch(`${server.url}/m?sk=m`, { method: "PURGE" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", purged: 1 });
    expect((await get("/m?sk=m")).cache).toBe("MISS");
    // Nothing was forwarded to the origin for the PURGE itself.
    expect(origin.requests.some((r) => r.method === "PURGE")).toBe(false);

    const path = "/ms?sk=ms&cc=max-age%3D600%2C%20stale-while-revalidate%3D600";
    await get(path);
    const soft = await fetch(server.url + path, { method: "PURGE", headers: { "fastly-soft-purge": "1" } });
    expect((await soft.json()).purged).toBe(1);
    expect((await get(path)).status).toMatch(/stale-while-revalidate/);
  });

  it("purges everything (never soft, as on the platform)", async () => {
    await get("/all1?sk=x");
    await get("/all2?sk=y");
    const response = await admin("/service/local/purge_all", { headers: { "fastly-soft-purge": "1" } });
    const body = await response.json();
    expect(body.status).toBe("ok");
    expect(body.purged).toBeGreaterThanOrEqual(2);
    expect(server.cache.store.stats().objects).toBe(0);
    expect((await get("/all1?sk=x")).cache).toBe("MISS");
  });

  it("serves Prometheus metrics and a health check", async () => {
    await get("/metrics-probe");
    await get("/metrics-probe");
    const response = await fetch(server.admin.url + "/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(Number(/^outpost_cache_hits_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^outpost_cache_purged_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^outpost_cache_objects \d+$/m);
    expect(Number(/^outpost_requests_total\{class="2xx"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^outpost_requests_total\{class="5xx"\} \d+$/m);

    const health = await fetch(server.admin.url + "/health");
    expect(health.status).toBe(200);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await admin("/nope");
    expect(response.status).toBe(404);
    expect((await response.json()).msg).toBe("Not found");
  });
});

describe("admin token", () => {
  let origin: Origin;
  let server: RunningServer & { admin: { url: string } };
  beforeAll(async () => {
    origin = await startOrigin((_req, res) => {
      res.setHeader("cache-control", "max-age=600");
      res.setHeader("surrogate-key", "t");
      res.end("x");
    });
    server = await serveWithAdmin(origin, { adminToken: "s3cret" });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("requires the token as Fastly-Key on purges and metrics, but not on /health", async () => {
    const attempts: Record<string, string>[] = [{}, { "fastly-key": "wrong" }, { "fastly-key": "s3cret-and-more" }];
    for (const headers of attempts) {
      const response = await fetch(server.admin.url + "/service/local/purge/t", { method: "POST", headers });
      expect(response.status).toBe(401);
      expect((await response.json()).msg).toMatch(/credentials are missing or invalid/);
    }
    expect((await fetch(server.admin.url + "/metrics")).status).toBe(401);
    expect((await fetch(server.admin.url + "/health")).status).toBe(200);

    const ok = await fetch(server.admin.url + "/service/local/purge/t", { method: "POST", headers: { "fastly-key": "s3cret" } });
    expect(ok.status).toBe(200);
    const metrics = await fetch(server.admin.url + "/metrics", { headers: { authorization: "Bearer s3cret" } });
    expect(metrics.status).toBe(200);
  });

  it("requires it on PURGE requests too", async () => {
    await (await fetch(server.url + "/p")).text();
    const refused = await fetch(server.url + "/p", { method: "PURGE" });
    expect(refused.status).toBe(401);
    expect((await fetch(server.url + "/p")).headers.get("x-cache")).toBe("HIT");
    const accepted = await fetch(server.url + "/p", { method: "PURGE", headers: { "fastly-key": "s3cret" } });
    expect((await accepted.json()).purged).toBe(1);
  });
});
