// Dynamic backends: origins a guest registers at run time
// (`register_dynamic_backend`), what `fastly_backend` says of them, sending
// through them with their own timeouts and TLS settings, health checks, and
// how their pools are shared between requests and bounded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendHealth } from "../../runtime/abi/constants.ts";
import { Status } from "../../runtime/abi/status.ts";
import { DynamicBackends, MAX_DYNAMIC_BACKENDS } from "../../runtime/backends/dynamic.ts";
import { type DynamicBackendSpec, plainBackendSpec } from "../../runtime/backends/dynamic-spec.ts";
import { parseTarget } from "../../runtime/hostcalls/dynamic-backend.ts";
import { createTestCa, type TestCa } from "../helpers/certs.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { startTcpOrigin, startTlsOrigin, type TcpOrigin, type TlsOrigin } from "../helpers/socket-origins.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

/** An origin whose answers the readthrough cache does not keep. */
const privateOrigin = () =>
  startOrigin((req, res) => {
    res.writeHead(200, { "cache-control": "private" }).end(`${req.method} ${req.url} host=${req.headers.host}\n`);
  });

function spec(overrides: Partial<DynamicBackendSpec> = {}): DynamicBackendSpec {
  return { ...plainBackendSpec("dyn", "127.0.0.1:9", false), ...overrides };
}

describe("the dynamic backend registry", () => {
  it("shares one pool between requests registering the same name and settings, unless told not to pool", async () => {
    const registry = new DynamicBackends({ staticNames: ["origin"] });
    const [a, b, c] = [{}, {}, {}];
    registry.register(a, spec());
    registry.register(b, spec());
    registry.register(c, spec({ dontPool: true }));
    expect(registry.get(a, "dyn")).toBe(registry.get(b, "dyn"));
    expect(registry.get(c, "dyn")).not.toBe(registry.get(a, "dyn"));
    expect(registry.sharedCount).toBe(1);
    // A registration belongs to its request.
    expect(registry.get({}, "dyn")).toBeUndefined();
    registry.release(a);
    expect(registry.get(a, "dyn")).toBeUndefined();
    expect(registry.get(b, "dyn")).toBeDefined();
    // The unpooled backend serves its request, and closes with it.
    const own = registry.get(c, "dyn")!;
    expect(own.pool.closed).toBe(false);
    registry.release(c);
    expect(own.pool.closed).toBe(true);
    await registry.close();
  });

  it("accepts the same registration twice in a request, and refuses a name in use with other settings", async () => {
    const registry = new DynamicBackends({ staticNames: ["origin"] });
    const request = {};
    expect(registry.register(request, spec()).dynamic).toBe(true);
    expect(() => registry.register(request, spec())).not.toThrow();
    expect(() => registry.register(request, spec({ firstByteTimeoutMs: 100 }))).toThrow(expect.objectContaining({ status: Status.ERROR }));
    expect(() => registry.register(request, spec({ name: "origin" }))).toThrow(expect.objectContaining({ status: Status.ERROR }));
    await registry.close();
  });

  it(`allows ${MAX_DYNAMIC_BACKENDS} backends per request and keeps at most that many pools`, async () => {
    const registry = new DynamicBackends({ staticNames: [], maxShared: 5 });
    const request = {};
    for (let i = 0; i < MAX_DYNAMIC_BACKENDS; i++) registry.register(request, spec({ name: `b${i}` }));
    expect(() => registry.register(request, spec({ name: "one-more" }))).toThrow(expect.objectContaining({ status: Status.LIMITEXCEEDED }));
    expect(registry.sharedCount).toBe(5);
    // Pools pushed out while in use keep serving their request.
    expect(registry.get(request, "b0")!.pool.closed).toBe(false);
    registry.release(request);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(registry.get(request, "b0")).toBeUndefined();
    await registry.close();
  });

  it("reports health from the health check's initial state", async () => {
    const registry = new DynamicBackends({ staticNames: [] });
    const healthcheck = { intervalMs: 60_000, timeoutMs: 1000, host: null, method: "HEAD", path: "/", expectedStatus: 200, window: 3, threshold: 2 };
    expect(registry.register({}, spec({ name: "up", healthcheck: { ...healthcheck, initial: 2 } })).health).toBe(BackendHealth.HEALTHY);
    expect(registry.register({}, spec({ name: "down", healthcheck: { ...healthcheck, initial: 1 } })).health).toBe(BackendHealth.UNHEALTHY);
    expect(registry.register({}, spec({ name: "unchecked" })).health).toBe(BackendHealth.UNKNOWN);
    await registry.close();
  });

  it("connects with keepalive, pooling limits and IPv4 first", async () => {
    const origin = await privateOrigin();
    const registry = new DynamicBackends({ staticNames: [] });
    const request = {};
    const summary = registry.register(
      request,
      spec({
        authority: `localhost:${origin.port}`,
        keepalive: { httpKeepaliveMs: 2000, tcpKeepalive: true, tcpIntervalSecs: 5, tcpProbes: 3, tcpTimeSecs: 30 },
        pooling: { maxConnections: 2, maxUse: 10, maxLifetimeMs: 60_000 },
        preferIpv4: true,
      }),
    );
    expect(summary).toMatchObject({ host: "localhost", port: origin.port, keepalive: { httpKeepaliveMs: 2000, tcpKeepalive: true } });
    const pool = registry.get(request, "dyn")!.pool;
    const answers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => (await pool.request({ path: `/${i}`, method: "GET" })).body.text()),
    );
    expect(answers).toEqual([0, 1, 2, 3, 4].map((i) => `GET /${i} host=localhost:${origin.port}\n`));
    await registry.close();
    await origin.close();
  });

  it("parses targets as host[:port]", () => {
    expect(parseTarget("example.com")).toEqual({ host: "example.com", authority: "example.com" });
    expect(parseTarget("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", authority: "127.0.0.1:8080" });
    expect(parseTarget("[::1]:443")).toEqual({ host: "::1", authority: "[::1]:443" });
    expect(parseTarget("2001:db8::1")).toEqual({ host: "2001:db8::1", authority: "[2001:db8::1]" });
    for (const bad of ["", "::", "http://example.com", "example.com/path", "a b", "host:0", "host:70000", "user@host", "[example.com]:80"]) {
      expect(parseTarget(bad), bad).toBeNull();
    }
  });
});

describe("register_dynamic_backend from a WAT guest", () => {
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    origin = await privateOrigin();
    server = await serve(watFixture("dynamic-backend"), { backends: { origin: origin.url } });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("checks the arguments, answers the getters, and sends through the backend", async () => {
    const response = await server.get("/", { headers: { "x-target": `127.0.0.1:${origin.port}` } });
    const r = await Results.of(response);
    expect(r.u32(), "reserved bit").toBe(Status.INVAL);
    expect(r.u32(), "unknown bit").toBe(Status.INVAL);
    expect(r.u32(), "a static backend's name").toBe(Status.ERROR);
    expect(r.u32(), "no name").toBe(Status.INVAL);
    expect(r.u32(), "bad target").toBe(Status.INVAL);
    expect(r.u32(), "empty host override").toBe(Status.INVAL);
    expect(r.u32(), "registered").toBe(Status.OK);
    expect(r.u32(), "registered again, same settings").toBe(Status.OK);
    expect(r.u32(), "same name, other settings").toBe(Status.ERROR);
    const u32 = () => [r.u32(), r.u32()];
    expect(u32(), "exists").toEqual([Status.OK, 1]);
    expect(u32(), "is_dynamic").toEqual([Status.OK, 1]);
    expect(u32(), "is_dynamic (static)").toEqual([Status.OK, 0]);
    expect([r.u32(), r.text()], "host").toEqual([Status.OK, "127.0.0.1"]);
    expect(u32(), "port").toEqual([Status.OK, origin.port]);
    expect([r.u32(), r.text()], "override host").toEqual([Status.OK, "dyn.example"]);
    expect(u32(), "connect timeout").toEqual([Status.OK, 1500]);
    expect(u32(), "first byte timeout").toEqual([Status.OK, 2500]);
    expect(u32(), "between bytes timeout").toEqual([Status.OK, 3500]);
    expect(u32(), "is_ssl").toEqual([Status.OK, 0]);
    expect(u32(), "is_healthy (no health check)").toEqual([Status.OK, BackendHealth.UNKNOWN]);
    expect(r.u32(), "health-checked").toBe(Status.OK);
    expect(u32(), "is_healthy (initially passed)").toEqual([Status.OK, BackendHealth.HEALTHY]);
    expect(r.u32(), "health-checked, sick").toBe(Status.OK);
    expect(u32(), "is_healthy (none passed yet)").toEqual([Status.OK, BackendHealth.UNHEALTHY]);
    expect(r.u32(), "threshold above window").toBe(Status.INVAL);
    expect(u32(), "send").toEqual([Status.OK, 200]);
    expect(r.remaining).toBe(0);
    expect(origin.requests.at(-1)).toMatchObject({ url: "/via-dynamic", headers: { host: "dyn.example" } });
  });
});

describe("dynamic backend health checks", () => {
  let healthy = true;
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      res.writeHead(req.url === "/health" && healthy ? 200 : 503).end();
    });
    server = await serve(watFixture("dynamic-backend-health"));
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  /** Asks until the guest reports `want` (probes run every 100 ms), for at most 10 s. */
  async function until(want: string): Promise<string> {
    let seen = "";
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      seen = await (await server.get("/", { headers: { "x-target": `127.0.0.1:${origin.port}` } })).text();
      if (seen === want) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return seen;
  }

  it("probes the backend between requests: unhealthy until enough probes pass, and again when they fail", async () => {
    expect(await until(String(BackendHealth.UNHEALTHY))).toBe("2");
    expect(await until(String(BackendHealth.HEALTHY))).toBe("1");
    expect(origin.requests.some((request) => request.method === "GET" && request.url === "/health")).toBe(true);
    healthy = false;
    expect(await until(String(BackendHealth.UNHEALTHY))).toBe("2");
  });
});

describe.runIf(toolchain("js-compute"))("new Backend() in a js-compute app", () => {
  let server: TestServer;
  let origin: Origin;
  let stalled: TcpOrigin;
  let ca: TestCa;
  let tls: TlsOrigin;
  let mtls: TlsOrigin;
  beforeAll(async () => {
    origin = await privateOrigin();
    stalled = await startTcpOrigin(() => {}); // reads the request, never answers
    ca = createTestCa();
    const cert = ca.issue("origin", { dns: ["origin.test"] });
    tls = await startTlsOrigin({ cert: cert.cert, key: cert.key, maxVersion: "TLSv1.2" }, (req, res) => {
      res.writeHead(200, { "cache-control": "private" }).end(`tls ${req.url}\n`);
    });
    mtls = await startTlsOrigin({ cert: cert.cert, key: cert.key, clientCa: ca.cert, requireClientCert: true }, (req, res) => {
      res.writeHead(200, { "cache-control": "private" }).end(`mtls ${req.url}\n`);
    });
    const wasm = await jsCompute("test/fixtures/js/dynamic-backend.js");
    server = await serve(wasm, { backends: { origin: origin.url } });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await origin?.close();
    await stalled?.close();
    await tls?.close();
    await mtls?.close();
    ca?.remove();
  });

  const post = (body: unknown) => server.get("/", { method: "POST", body: JSON.stringify(body) });

  it("fetches through a backend registered at run time", async () => {
    const response = await post({ backend: { name: "runtime-origin", target: `127.0.0.1:${origin.port}`, hostOverride: "www.example.test" }, path: "/hello?x=1" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("GET /hello?x=1 host=www.example.test\n");
    expect(response.headers.get("x-backend-name")).toBe("runtime-origin");
    expect(response.headers.get("x-backend-dynamic")).toBe("true");
  });

  it("registers a backend for a fetch that names none", async () => {
    const response = await server.get(`/implicit?url=${encodeURIComponent(`${origin.url}/implicit-target`)}`);
    expect(await response.text()).toBe(`GET /implicit-target host=127.0.0.1:${origin.port}\n`);
  });

  it("keeps a registration to the request that made it", async () => {
    await post({ backend: { name: "only-once", target: `127.0.0.1:${origin.port}` }, path: "/" });
    expect(await (await server.get("/exists?name=only-once")).text()).toBe("false");
    expect(await (await server.get("/exists?name=origin")).text()).toBe("true");
  });

  it("refuses a name already in use with other settings", async () => {
    const target = `127.0.0.1:${origin.port}`;
    const response = await post({ backend: { name: "taken", target }, again: { name: "taken", target, firstByteTimeout: 1234 }, path: "/" });
    expect(response.headers.get("x-again")).toMatch(/error/i);
    expect(response.status).toBe(200);
    // A static backend's name: the constructor throws, and the app with it.
    expect((await post({ backend: { name: "origin", target }, path: "/" })).status).toBe(500);
  });

  it("gives up on an origin that sends nothing within the first-byte timeout", async () => {
    const started = Date.now();
    const response = await post({ backend: { name: "slow", target: `127.0.0.1:${stalled.port}`, firstByteTimeout: 300 }, path: "/" });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(response.headers.get("x-backend-first-byte-timeout")).toBe("300");
    // Well under the default first-byte timeout of 15 s.
    expect(elapsed).toBeLessThan(10_000);
  });

  it("connects with TLS: its own CA, certificate host and SNI name", async () => {
    const backend = { name: "secure", target: `127.0.0.1:${tls.port}`, useSSL: true, caCertificate: ca.cert, certificateHostname: "origin.test", sniHostname: "origin.test" };
    const response = await post({ backend, path: "/secure" });
    expect(await response.text()).toBe("tls /secure\n");
    expect(tls.handshakes.at(-1)).toEqual({ servername: "origin.test" });
    // Without the CA, the certificate is not trusted.
    const untrusted = await post({ backend: { ...backend, name: "untrusted", caCertificate: undefined }, path: "/" });
    expect(untrusted.status).toBe(504);
    // The origin speaks TLS 1.2 at most.
    const tooNew = await post({ backend: { ...backend, name: "tls13", tlsMinVersion: 1.3 }, path: "/" });
    expect(tooNew.status).toBe(504);
  });

  it("presents a client certificate whose key is a secret", async () => {
    const client = ca.issue("client", { client: true });
    const backend = { name: "mtls", target: `127.0.0.1:${mtls.port}`, useSSL: true, caCertificate: ca.cert, certificateHostname: "origin.test" };
    const withCert = await post({ backend: { ...backend, clientCertificate: { certificate: client.cert, keyPem: client.key } }, path: "/mtls" });
    expect(await withCert.text()).toBe("mtls /mtls\n");
    const without = await post({ backend: { ...backend, name: "no-client-cert" }, path: "/" });
    expect(without.status).toBe(504);
  });
});
