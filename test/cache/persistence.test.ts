// `--cache-dir`: the HTTP cache survives a restart, and so do purges; PCI
// objects never reach the disk; expired and corrupt files are dropped at
// start without stopping it; evicted objects leave the disk too.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../runtime/server/start-server.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { watFixture } from "../helpers/wat.ts";

const PROXY = watFixture("cache-proxy");
const SWR = "max-age=600, stale-while-revalidate=600";

describe("persistent cache", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      const url = new URL(req.url!, "http://x");
      res.setHeader("cache-control", url.searchParams.get("cc") ?? "max-age=3600");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      const size = Number(url.searchParams.get("size") ?? 0);
      res.end(size ? Buffer.alloc(size, url.pathname) : `${url.pathname} #${origin.requests.length}`);
    });
  });
  afterAll(async () => origin?.close());

  type Server = RunningServer & { logger: MemoryLogger };
  async function start(dir: string, options: Partial<ServerOptions> = {}): Promise<Server> {
    const logger = new MemoryLogger();
    const server = await startServer({
      wasm: PROXY,
      manifest: parseManifest(`[local_server.backends.origin]\nurl = "${origin.url}"\n`, null, process.cwd()),
      port: 0,
      workers: 1,
      logger,
      cacheDir: dir,
      ...options,
    });
    return Object.assign(server, { logger });
  }
  /** A request with a fixed Host, so that cache keys stay the same across servers on different ports. */
  async function get(server: RunningServer, path: string, headers: Record<string, string> = {}) {
    const response = await request(server.url + path, { headers: { host: "site.test", ...headers } });
    const body = await response.body.text();
    return { cache: response.headers["x-cache"], status: String(response.headers["cache-status"]), body };
  }
  const fromOrigin = (path: string) => origin.requests.filter((r) => r.url === path).length;
  const objectFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".object"));

  it("serves hits after a restart without asking the origin, and keeps purges", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-cache-"));
    const first = await start(dir);
    const kept = await get(first, "/kept?sk=k");
    await get(first, "/purged?sk=gone");
    await get(first, "/by-url?sk=u");
    await get(first, `/soft?sk=soft&cc=${encodeURIComponent(SWR)}`);
    // PCI: cached in memory, never on disk.
    await get(first, "/pci?sk=k", { "x-override-tag": "8" });
    expect((await get(first, "/pci?sk=k", { "x-override-tag": "8" })).cache).toBe("HIT");
    expect(first.cache.purgeSurrogateKeys(["gone"], false)).toBe(1);
    expect(first.cache.purgeUrl("site.test/by-url?sk=u", false)).toBe(1);
    expect(first.cache.purgeSurrogateKeys(["soft"], true)).toBe(1);
    await first.close();
    expect(objectFiles(dir)).toHaveLength(2);

    const second = await start(dir);
    try {
      expect(second.logger.lines).toContain(`cache: 2 objects loaded from ${dir}`);
      const again = await get(second, "/kept?sk=k");
      expect(again.cache).toBe("HIT");
      expect(again.body).toBe(kept.body);
      expect(fromOrigin("/kept?sk=k")).toBe(1);
      // Purged before the restart: still gone.
      expect((await get(second, "/purged?sk=gone")).cache).toBe("MISS");
      expect((await get(second, "/by-url?sk=u")).cache).toBe("MISS");
      expect((await get(second, "/pci?sk=k", { "x-override-tag": "8" })).cache).toBe("MISS");
      // Soft-purged before: still stale, served while it revalidates.
      expect((await get(second, `/soft?sk=soft&cc=${encodeURIComponent(SWR)}`)).status).toMatch(/stale-while-revalidate/);
      // Loaded objects are indexed: a purge by key after the restart reaches them.
      expect(second.cache.purgeSurrogateKeys(["k"], false)).toBeGreaterThanOrEqual(1);
      expect((await get(second, "/kept?sk=k")).cache).toBe("MISS");
    } finally {
      await second.close();
    }
  });

  it("drops expired and corrupt files at start, with a warning, and loads the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-cache-"));
    const first = await start(dir);
    await get(first, "/long?cc=max-age%3D3600");
    await get(first, "/short?cc=max-age%3D5");
    await get(first, "/mangled");
    await get(first, "/torn");
    await first.close();
    expect(objectFiles(dir)).toHaveLength(4);
    const fileOf = (path: string) => join(dir, objectFiles(dir).find((name) => readFileSync(join(dir, name), "latin1").includes(`site.test${path}"`))!);
    // Truncate one file; zero the end of another's body, as a crash before its blocks were written can;
    // leave junk and a half-written temporary file beside them.
    const bytes = readFileSync(fileOf("/mangled"));
    writeFileSync(fileOf("/mangled"), bytes.subarray(0, bytes.length - 3));
    const torn = readFileSync(fileOf("/torn"));
    torn.fill(0, torn.length - 4);
    writeFileSync(fileOf("/torn"), torn);
    writeFileSync(join(dir, "0000.object"), "not a cache file");
    writeFileSync(join(dir, ".abc.object.123.tmp"), "partial");

    // A minute later, /short has expired.
    const second = await start(dir, { clock: () => Date.now() + 60_000 });
    try {
      expect(second.logger.lines.filter((line) => /warning: cache dir: skipping corrupt file/.test(line))).toHaveLength(3);
      expect(second.logger.lines.some((line) => /body does not match its checksum/.test(line))).toBe(true);
      expect(second.logger.lines).toContain(`cache: 1 objects loaded from ${dir} (1 expired dropped)`);
      expect(objectFiles(dir)).toHaveLength(1);
      expect(readdirSync(dir).some((name) => name.endsWith(".tmp"))).toBe(false);
      expect((await get(second, "/long?cc=max-age%3D3600")).cache).toBe("HIT");
      expect((await get(second, "/short?cc=max-age%3D5")).cache).toBe("MISS");
      expect((await get(second, "/mangled")).cache).toBe("MISS");
      expect((await get(second, "/torn")).cache).toBe("MISS");
    } finally {
      await second.close();
    }
  });

  it("removes the files of evicted objects", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-cache-"));
    const server = await start(dir, { cacheBytes: 256 * 1024 });
    let objects: number;
    try {
      for (let i = 0; i < 12; i++) expect((await get(server, `/big${i}?size=50000`)).body).toHaveLength(50_000);
      const stats = server.cache.store.stats();
      expect(stats.evictions).toBeGreaterThan(0);
      objects = stats.objects;
    } finally {
      await server.close();
    }
    expect(objectFiles(dir)).toHaveLength(objects);
    const restarted = await start(dir, { cacheBytes: 256 * 1024 });
    try {
      expect((await get(restarted, "/big11?size=50000")).cache).toBe("HIT");
      expect((await get(restarted, "/big0?size=50000")).cache).toBe("MISS");
    } finally {
      await restarted.close();
    }
  });
});
