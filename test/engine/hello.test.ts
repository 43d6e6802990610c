import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { wat } from "../helpers/wat.ts";

const hello = wat(readFileSync(new URL("../../examples/hello/src/main.wat", import.meta.url), "utf8"));

describe("a WAT hello guest", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(hello);
  });
  afterAll(() => server.close());

  it("answers with its body and headers", async () => {
    const response = await server.get("/any/path?x=1");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("content-length")).toBe("20");
    expect(await response.text()).toBe("Hello from Outpost!\n");
  });

  it("logs one line per request with method, path, status and time", async () => {
    await server.get("/logged");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const entry = server.logger.requests.find((r) => r.path === "/logged");
    expect(entry).toMatchObject({ method: "GET", path: "/logged", status: 200 });
    expect(entry!.ms).toBeGreaterThan(0);
  });

  it("serves many requests at once", async () => {
    const responses = await Promise.all(Array.from({ length: 200 }, () => server.get("/")));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies)).toEqual(new Set(["Hello from Outpost!\n"]));
  });
});
