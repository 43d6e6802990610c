// `outpost serve --watch`: a source change is rebuilt and swapped in without
// a restart; requests already running finish on the old module; the cache
// and KV stores survive; a failed build leaves the old module serving.
// The app is WebAssembly text built with wat2wasm, so builds are quick.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpost, outpostServe, type RunningCli } from "../helpers/cli.ts";
import { startOrigin } from "../helpers/origin.ts";
import { eventually, tempProject, watManifest, writeFiles } from "../helpers/projects.ts";

/** Proxies to the backend "origin" and adds `x-version: <version>` to the response. */
function versioned(version: string): string {
  return `(module
  (import "fastly_http_req" "body_downstream_get" (func $downstream (param i32 i32) (result i32)))
  (import "fastly_http_req" "send" (func $send (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "header_insert" (func $header (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "origin")
  (data (i32.const 48) "x-version")
  (data (i32.const 64) "${version}")
  (func (export "_start")
    (drop (call $downstream (i32.const 0) (i32.const 4)))
    (drop (call $send (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 32) (i32.const 6) (i32.const 8) (i32.const 12)))
    (drop (call $header (i32.load (i32.const 8)) (i32.const 48) (i32.const 9) (i32.const 64) (i32.const ${version.length})))
    (drop (call $send_downstream (i32.load (i32.const 8)) (i32.load (i32.const 12)) (i32.const 0)))))
`;
}

describe("outpost serve --watch", () => {
  let releaseSlow = () => {};
  const slowArrived = Promise.withResolvers<void>();
  const origin = startOrigin((req, res) => {
    if (req.url === "/slow") {
      slowArrived.resolve();
      releaseSlow = () => res.end("slow body");
      return;
    }
    res.writeHead(200, { "cache-control": req.url === "/cached" ? "max-age=600" : "no-store" });
    res.end(`origin ${req.url}`);
  });
  let url: string;
  beforeAll(async () => {
    url = (await origin).url;
  });
  afterAll(async () => (await origin).close());

  async function watch(dir: string, extra: string[] = []): Promise<RunningCli> {
    const server = await outpostServe([dir, "--watch", "--workers", "1", "--admin-addr", "127.0.0.1:0", "--state-dir", "off", ...extra]);
    await eventually(() => server.output().includes("watching "), 20_000, "the watcher to start");
    return server;
  }
  const version = async (server: RunningCli, path = "/") => (await fetch(`${server.url}${path}`)).headers.get("x-version");

  it("builds first, serves each edit within seconds, and keeps the last good build when one fails", async () => {
    const dir = tempProject({
      "fastly.toml": watManifest("watched", `[local_server.backends.origin]\nurl = "${url}"\n`),
      "src/main.wat": versioned("v1"),
      ".outpostignore": "notes/\n",
    });
    const server = await watch(dir);
    try {
      expect(server.output()).toContain("Built bin/main.wasm");
      expect(await version(server)).toBe("v1");

      const edited = Date.now();
      writeFileSync(join(dir, "src/main.wat"), versioned("v2"));
      await eventually(async () => (await version(server)) === "v2", 15_000, "v2 to be served");
      expect(Date.now() - edited).toBeLessThan(10_000);

      writeFileSync(join(dir, "src/main.wat"), versioned("v3").replace("(func (export", "(func oops (export"));
      await eventually(() => server.output().includes("still serving the previous build"), 15_000, "the failed build to be reported");
      expect(server.output()).toMatch(/main\.wat:\d+:\d+: error/); // wat2wasm's message
      expect(await version(server)).toBe("v2");

      // Ignored: build outputs, dependencies, what .outpostignore lists, a file saved unchanged.
      const before = server.output().split("changed: rebuilding").length;
      writeFiles(dir, { "bin/other.wasm": "x", "node_modules/dep/index.js": "x", "notes/todo.md": "x", ".outpostignore": "notes/\n" });
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(server.output().split("changed: rebuilding").length).toBe(before);

      writeFileSync(join(dir, "src/main.wat"), versioned("v4"));
      await eventually(async () => (await version(server)) === "v4", 15_000, "v4 to be served");
    } finally {
      await server.stop();
    }
  });

  it("lets running requests finish on the old module and keeps the cache and the KV stores", async () => {
    const dir = tempProject({
      "fastly.toml": watManifest("watched", `[local_server.backends.origin]\nurl = "${url}"\n[local_server.kv_stores]\nstore = []\n`),
      "src/main.wat": versioned("old"),
    });
    const server = await watch(dir);
    try {
      const admin = /admin API .* at (http:\/\/\S+)/.exec(server.output())![1];
      expect((await outpost(["kv", "put", "store", "greeting", "kept", "--admin", admin])).code).toBe(0);
      const first = await fetch(`${server.url}/cached`);
      expect(first.headers.get("x-version")).toBe("old");
      await first.text();

      const slow = fetch(`${server.url}/slow`);
      await slowArrived.promise;
      writeFileSync(join(dir, "src/main.wat"), versioned("new"));
      await eventually(() => server.output().includes("serving the new build"), 15_000, "the swap");
      expect(await version(server)).toBe("new");

      releaseSlow();
      const finished = await slow;
      expect(finished.headers.get("x-version")).toBe("old");
      expect(await finished.text()).toBe("slow body");

      const cached = await fetch(`${server.url}/cached`);
      expect(cached.headers.get("x-version")).toBe("new");
      expect(cached.headers.get("x-cache")).toBe("HIT");
      expect((await origin).requests.filter((request) => request.url === "/cached")).toHaveLength(1);

      const kv = await outpost(["kv", "get", "store", "greeting", "--admin", admin]);
      expect(kv.stdout.trim()).toBe("kept");
    } finally {
      await server.stop();
    }
  });
});
