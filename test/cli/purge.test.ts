// `outpost purge` against a running `outpost serve`, both as real processes;
// and `outpost serve --cache-dir` keeping the cache (and purges) across a restart.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpost, outpostServe, type RunningCli } from "../helpers/cli.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { watFixture } from "../helpers/wat.ts";

/** A project that proxies to `origin` through the cache. */
function project(originUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-purge-"));
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin/main.wasm"), watFixture("cache-proxy"));
  writeFileSync(join(dir, "fastly.toml"), `manifest_version = 3\nname = "p"\n[local_server.backends.origin]\nurl = "${originUrl}"\n`);
  return dir;
}

/** The admin API's URL, from what `outpost serve` printed. */
function adminUrl(server: RunningCli): string {
  const match = /admin API .* at (http:\/\/\S+)/.exec(server.output());
  if (!match) throw new Error(`no admin API line in:\n${server.output()}`);
  return match[1];
}

/** A request with a fixed Host, so that cache keys stay the same across servers on different ports. */
async function get(base: string, path: string): Promise<string | undefined> {
  const response = await request(base + path, { headers: { host: "site.test" } });
  await response.body.text();
  return response.headers["x-cache"] as string | undefined;
}

describe("outpost purge", () => {
  let origin: Origin;
  let dir: string;
  let server: RunningCli;
  let admin: string;
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      const url = new URL(req.url!, "http://x");
      res.setHeader("cache-control", "max-age=600, stale-while-revalidate=600");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      res.end(`${url.pathname} #${origin.requests.length}`);
    });
    dir = project(origin.url);
    server = await outpostServe([dir, "--admin-addr", "127.0.0.1:0", "--quiet"]);
    admin = adminUrl(server);
  });
  afterAll(async () => {
    await server?.stop();
    await origin?.close();
  });

  it("purges by URL, by one or several keys, softly, and everything", async () => {
    for (const p of ["/a?sk=red", "/b?sk=blue", "/c?sk=green", "/d?sk=soft"]) await get(server.url, p);
    expect(await get(server.url, "/a?sk=red")).toBe("HIT");

    const byUrl = await outpost(["purge", "--admin", admin, "--url", "http://site.test/a?sk=red"]);
    expect(byUrl.stderr).toBe("");
    expect(byUrl.code).toBe(0);
    expect(byUrl.stdout).toBe("purged 1 object at site.test/a?sk=red\n");
    expect(await get(server.url, "/a?sk=red")).toBe("MISS");

    const byKeys = await outpost(["purge", "--admin", admin, "--key", "blue", "--key", "green", "--service", "SU1Z0isxPaozGVKXdv0eY"]);
    expect(byKeys.stdout).toBe("purged 2 objects tagged blue, green\n");
    expect(await get(server.url, "/b?sk=blue")).toBe("MISS");
    expect(await get(server.url, "/c?sk=green")).toBe("MISS");

    const soft = await outpost(["purge", "--admin", admin, "--key", "soft", "--soft"]);
    expect(soft.stdout).toBe("soft-purged 1 object tagged soft\n");
    // Soft: still served (stale, while it revalidates).
    expect(await get(server.url, "/d?sk=soft")).toBe("HIT");

    const all = await outpost(["purge", "--admin", admin, "--all"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^purged \d+ objects? \(everything\)\n$/);
    expect(await get(server.url, "/d?sk=soft")).toBe("MISS");
  });

  it("says so when no server is running, and how to start one", async () => {
    const port = await closedPort();
    const result = await outpost(["purge", "--all", "--admin", `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no Outpost admin API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): is `outpost serve` running\?/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects bad flags, saying what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [[], /say what to purge: --url URL, --key KEY/],
      [["--all", "--key", "x"], /one kind of thing at a time/],
      [["--all", "--soft"], /purge-all cannot be soft/],
      [["--url", "/just/a/path"], /--url needs a host/],
      [["--all", "--admin", "not a url"], /--admin must be the admin API's URL/],
    ];
    const results = await Promise.all(cases.map(([args]) => outpost(["purge", ...args])));
    results.forEach((result, i) => {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(cases[i][1]);
    });
  });
});

describe("outpost serve --admin-token", () => {
  let origin: Origin;
  let server: RunningCli;
  let admin: string;
  beforeAll(async () => {
    origin = await startOrigin((_req, res) => {
      res.end("x");
    });
    server = await outpostServe([project(origin.url), "--admin-addr", "127.0.0.1:0", "--admin-token", "t0ken", "--quiet"]);
    admin = adminUrl(server);
  });
  afterAll(async () => {
    await server?.stop();
    await origin?.close();
  });

  it("needs the token, and says so", async () => {
    const missing = await outpost(["purge", "--all", "--admin", admin]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/requires a token: pass the server's --admin-token with --token/);
    const wrong = await outpost(["purge", "--all", "--admin", admin, "--token", "nope"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the token/);
    const right = await outpost(["purge", "--all", "--admin", admin, "--token", "t0ken"]);
    expect(right.code).toBe(0);
  });
});

describe("outpost serve --cache-dir", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      const url = new URL(req.url!, "http://x");
      res.setHeader("cache-control", "max-age=600");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      res.end(`${url.pathname} #${origin.requests.length}`);
    });
  });
  afterAll(async () => origin?.close());

  it("keeps the cache, and purges, across a restart", async () => {
    const dir = project(origin.url);
    const cacheDir = join(dir, "cache");
    const args = [dir, "--admin-addr", "127.0.0.1:0", "--cache-dir", cacheDir, "--cache-mib", "16", "--quiet"];
    const first = await outpostServe(args);
    try {
      await get(first.url, "/kept?sk=keep");
      await get(first.url, "/gone?sk=drop");
      const purge = await outpost(["purge", "--admin", adminUrl(first), "--key", "drop"]);
      expect(purge.stdout).toBe("purged 1 object tagged drop\n");
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await outpostServe(args);
    try {
      expect(second.output()).toMatch(/cache: 1 objects loaded from /);
      expect(await get(second.url, "/kept?sk=keep")).toBe("HIT");
      expect(origin.requests.filter((r) => r.url === "/kept?sk=keep")).toHaveLength(1);
      expect(await get(second.url, "/gone?sk=drop")).toBe("MISS");
    } finally {
      await second.stop();
    }
  });

  it("rejects a bad --cache-mib", async () => {
    const result = await outpost(["serve", project(origin.url), "--cache-mib", "lots"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--cache-mib must be a positive whole number/);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
