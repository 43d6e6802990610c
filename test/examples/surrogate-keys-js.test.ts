// examples/surrogate-keys-js: responses tagged with surrogate keys (by the
// app's CacheOverride or the origin's Surrogate-Key header) are cached,
// purged by key through the app's own route, and fetched again.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpost, outpostServe, type RunningCli } from "../helpers/cli.ts";
import { startOrigin } from "../helpers/origin.ts";
import { tempDir } from "../helpers/projects.ts";
import { ROOT, toolchain } from "../helpers/toolchains.ts";

const EXAMPLE = join(ROOT, "examples/surrogate-keys-js");

describe.skipIf(!toolchain("js-compute"))("examples/surrogate-keys-js", () => {
  const hits = new Map<string, number>();
  const origin = startOrigin((req, res) => {
    const n = (hits.get(req.url!) ?? 0) + 1;
    hits.set(req.url!, n);
    const headers: Record<string, string> = { "content-type": "text/plain" };
    if (req.url!.startsWith("/articles/")) {
      headers["cache-control"] = "max-age=600";
      headers["surrogate-key"] = `articles article-${req.url!.split("/")[2]}`;
    }
    res.writeHead(200, headers);
    res.end(`${req.url} #${n}`);
  });
  let server: RunningCli;

  beforeAll(async () => {
    const build = await outpost(["build", EXAMPLE], { timeoutMs: 120_000 });
    expect(build.code, build.stderr).toBe(0);
    // The example's own fastly.toml, pointed at this test's origin.
    const config = join(tempDir(), "fastly.toml");
    writeFileSync(config, readFileSync(join(EXAMPLE, "fastly.toml"), "utf8").replace("http://127.0.0.1:8080/", (await origin).url));
    server = await outpostServe([EXAMPLE, "--config", config, "--admin-addr", "off", "--workers", "1", "--cpu-ms", "2000"]);
  });
  afterAll(async () => {
    await server?.stop();
    await (await origin).close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`);
    return { text: await response.text(), cache: response.headers.get("x-cache") };
  };
  const purge = async (key: string, query = "") => {
    const response = await fetch(`${server.url}/purge/${key}${query}`, { method: "POST" });
    return { status: response.status, text: await response.text() };
  };

  it("tags products with keys of its own, purges one key and refetches only what it tagged", async () => {
    expect(await get("/products/1")).toEqual({ text: "/products/1 #1", cache: "MISS" });
    expect(await get("/products/1")).toEqual({ text: "/products/1 #1", cache: "HIT" });
    expect(await get("/products/2")).toEqual({ text: "/products/2 #1", cache: "MISS" });

    expect(await purge("product-1")).toEqual({ status: 200, text: "purged product-1\n" });
    expect(await get("/products/1")).toEqual({ text: "/products/1 #2", cache: "MISS" });
    expect(await get("/products/2")).toEqual({ text: "/products/2 #1", cache: "HIT" });

    // One key shared by every product purges them all.
    await purge("products");
    expect((await get("/products/1")).text).toBe("/products/1 #3");
    expect((await get("/products/2")).text).toBe("/products/2 #2");
  });

  it("purges by the keys in the origin's Surrogate-Key header, softly when asked", async () => {
    expect((await get("/articles/a")).text).toBe("/articles/a #1");
    expect(await get("/articles/a")).toEqual({ text: "/articles/a #1", cache: "HIT" });
    expect((await get("/articles/b")).text).toBe("/articles/b #1");

    await purge("article-a");
    expect((await get("/articles/a")).text).toBe("/articles/a #2");
    expect((await get("/articles/b")).cache).toBe("HIT");

    // A soft purge marks them stale: the next request revalidates with the origin.
    expect(await purge("articles", "?soft=1")).toEqual({ status: 200, text: "soft-purged articles\n" });
    expect((await get("/articles/b")).text).toBe("/articles/b #2");
    expect(hits.get("/articles/b")).toBe(2);
  });

  it("purges only on POST", async () => {
    const response = await fetch(`${server.url}/purge/products`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
