// examples/hello-js: built with `outpost build` (js-compute), served by
// `outpost serve`.
import { describe, expect, it } from "vitest";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { toolchain } from "../helpers/toolchains.ts";

describe.skipIf(!toolchain("js-compute"))("examples/hello-js", () => {
  it("builds and greets", async () => {
    const build = await outpost(["build", "examples/hello-js"], { timeoutMs: 120_000 });
    expect(build.stderr).toContain("Built bin/main.wasm");
    expect(build.code).toBe(0);
    const server = await outpostServe(["examples/hello-js", "--admin-addr", "off", "--workers", "1", "--cpu-ms", "2000"]);
    try {
      const response = await fetch(`${server.url}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await response.text()).toBe("Hello from JavaScript on Outpost! You asked for GET /\n");
      expect((await fetch(`${server.url}/elsewhere`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
