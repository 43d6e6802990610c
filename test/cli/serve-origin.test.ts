// `outpost serve --origin URL`: the no-code caching service as a process.
import { afterAll, describe, expect, it } from "vitest";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { startOrigin } from "../helpers/origin.ts";

describe("outpost serve --origin", () => {
  const origin = startOrigin((req, res) => {
    res.setHeader("cache-control", "max-age=60");
    res.end(`origin saw ${req.method} ${req.url} for ${req.headers.host}`);
  });
  afterAll(async () => (await origin).close());

  it("caches the origin with no Wasm app and no fastly.toml, and logs each request", async () => {
    const { url, port } = await origin;
    const server = await outpostServe(["--origin", `${url}/base`, "--admin-addr", "off", "--cache-mib", "16"]);
    try {
      expect(server.output()).toMatch(new RegExp(`Outpost caching ${url}/base on http://127\\.0\\.0\\.1:\\d+ \\(no guest; Host: 127\\.0\\.0\\.1:${port}\\)`));
      const first = await fetch(`${server.url}/page?q=1`);
      expect(await first.text()).toBe(`origin saw GET /base/page?q=1 for 127.0.0.1:${port}`);
      expect(first.headers.get("x-cache")).toBe("MISS");
      const second = await fetch(`${server.url}/page?q=1`);
      expect(second.headers.get("x-cache")).toBe("HIT");
      await second.text();
      await expect.poll(() => server.output()).toMatch(/GET \/page\?q=1 200 [\d.]+ms #2/);
      expect(server.output()).not.toMatch(/warning|no fastly\.toml/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it.each([
    [["--origin", "not-a-url"], /--origin: "not-a-url" is not a URL \(did you mean "http:\/\/not-a-url"\?\)/],
    [["--origin", "http://127.0.0.1:1", "--file", "app.wasm"], /--file does not apply with --origin/],
    [["--origin", "http://127.0.0.1:1", "--watch"], /--watch does not apply with --origin/],
    [["--origin", "http://127.0.0.1:1", "--workers", "2"], /--workers does not apply with --origin/],
    [["--origin", "http://127.0.0.1:1", "examples/hello"], /a project directory \(examples\/hello\) does not apply with --origin/],
    [["--override-host", "x.example", "examples/hello"], /--override-host applies only with --origin/],
  ])("refuses %j with a clear message", async (args, message) => {
    const result = await outpost(["serve", "--addr", "127.0.0.1:0", "--admin-addr", "off", ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
