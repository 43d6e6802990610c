// `fastly_backend::*` as a guest sees it: a WAT guest reports every getter for
// the backend named in its request, and the tests compare with fastly.toml.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

const manifest = `
[local_server.backends.origin]
url = "http://127.0.0.1:8080/base/"
override_host = "www.example.test"
health = "healthy"
connect_timeout_ms = 1500
first_byte_timeout_ms = 2500
between_bytes_timeout_ms = 3500

[local_server.backends.defaults]
url = "http://example.test"

[local_server.backends.secure]
url = "https://origin.example.test"
health = "unhealthy"

[local_server.backends.v6]
url = "http://[::1]:9000"
`;

describe("fastly_backend getters", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("backend-info"), { manifest });
  });
  afterAll(() => server?.close());

  /** The guest's `key=value` lines for one backend. */
  async function info(backend: string): Promise<Record<string, string>> {
    const response = await server.get("/", { headers: { "x-backend": backend } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return Object.fromEntries(
      text
        .trimEnd()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  }

  it("reports what the manifest sets", async () => {
    expect(await info("origin")).toEqual({
      exists: "1",
      is_healthy: "1",
      is_dynamic: "0",
      host: "127.0.0.1",
      override_host: "www.example.test",
      port: "8080",
      is_ssl: "0",
      connect_timeout_ms: "1500",
      first_byte_timeout_ms: "2500",
      between_bytes_timeout_ms: "3500",
      ssl_min_version: `!${Status.NONE}`,
      ssl_max_version: `!${Status.NONE}`,
    });
  });

  it("reports the defaults: port 80, no override host, unknown health, the platform's timeouts", async () => {
    expect(await info("defaults")).toMatchObject({
      exists: "1",
      is_healthy: "0",
      host: "example.test",
      override_host: `!${Status.NONE}`,
      port: "80",
      is_ssl: "0",
      connect_timeout_ms: "1000",
      first_byte_timeout_ms: "15000",
      between_bytes_timeout_ms: "10000",
    });
  });

  it("reports an https backend: port 443, SSL, TLS 1.2 to 1.3, unhealthy", async () => {
    expect(await info("secure")).toMatchObject({
      is_healthy: "2",
      host: "origin.example.test",
      port: "443",
      is_ssl: "1",
      ssl_min_version: "2",
      ssl_max_version: "3",
    });
  });

  it("reports an IPv6 host without brackets", async () => {
    expect(await info("v6")).toMatchObject({ host: "::1", port: "9000" });
  });

  it("says an unknown backend does not exist, and INVAL for every other getter", async () => {
    const unknown = await info("nowhere");
    expect(unknown.exists).toBe("0");
    const { exists: _, ...rest } = unknown;
    for (const [key, value] of Object.entries(rest)) expect(value, key).toBe(`!${Status.INVAL}`);
  });
});
