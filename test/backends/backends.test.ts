// Sending to backends end to end: a WAT proxy guest forwards client requests
// to real origins on loopback (plain HTTP, HTTPS with a CA made at test time,
// and misbehaving TCP servers), and the tests check what the origin received
// and what the client got back.
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendErrorDetailTag } from "../../runtime/abi/constants.ts";
import { Status } from "../../runtime/abi/status.ts";
import { createTestCa, type TestCa } from "../helpers/certs.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { rawRequest } from "../helpers/raw-client.ts";
import {
  closedPort,
  startTcpOrigin,
  startTlsOrigin,
  type TcpOrigin,
  type TlsOrigin,
} from "../helpers/socket-origins.ts";
import { watFixture } from "../helpers/wat.ts";

const proxy = watFixture("proxy-to-backend");

/** What the echo origins answer: the request as they saw it. */
interface Seen {
  method?: string;
  url?: string;
  host?: string;
  body?: string;
}

function echo(req: { method?: string; url?: string; headers: { host?: string } }, body?: Buffer): string {
  return JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body: body?.toString() } satisfies Seen);
}

const toml = (text: string) => `'''\n${text}'''`;

describe("sending to backends", () => {
  let ca: TestCa;
  let plain: Origin;
  let pooled: Origin;
  let pooledConnections = 0;
  let tls: TlsOrigin;
  let mtls: TlsOrigin;
  let strict: TlsOrigin;
  let silent: Origin;
  let stall: Origin;
  let gzip: Origin;
  let reset: TcpOrigin;
  let garbage: TcpOrigin;
  let bigHead: TcpOrigin;
  let shortBody: TcpOrigin;
  let server: TestServer;

  beforeAll(async () => {
    ca = createTestCa();
    const leaf = ca.issue("origin.test", { dns: ["origin.test"] });
    const client = ca.issue("outpost-client", { client: true });
    plain = await startOrigin((req, res, body) => void res.end(echo(req, body)));
    pooled = await startOrigin((req, res) => void res.end(echo(req)));
    pooled.server.on("connection", () => pooledConnections++);
    // undici keeps a 2 s margin under the origin's advertised keep-alive: the
    // helper's 1 s would make every connection single-use.
    pooled.server.keepAliveTimeout = 5_000;
    tls = await startTlsOrigin(leaf, (req, res) => res.end(echo(req)));
    mtls = await startTlsOrigin({ ...leaf, clientCa: ca.cert }, (req, res) => {
      const socket = req.socket as TLSSocket;
      res.end(JSON.stringify({ authorized: socket.authorized, cn: socket.authorized ? socket.getPeerCertificate().subject.CN : null }));
    });
    // TLS 1.2, where a refused client certificate is refused during the handshake;
    // in TLS 1.3 the alert comes after it and undici reports only the closed socket.
    strict = await startTlsOrigin({ ...leaf, clientCa: ca.cert, requireClientCert: true, maxVersion: "TLSv1.2" }, (req, res) =>
      res.end(echo(req)),
    );
    silent = await startOrigin(() => new Promise(() => {}));
    stall = await startOrigin((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first chunk\n");
      // ...and nothing more, ever.
    });
    gzip = await startOrigin((_req, res) => {
      const body = gzipSync(Buffer.from("squeezed ".repeat(200)));
      res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip", "content-length": body.byteLength });
      res.end(body);
    });
    reset = await startTcpOrigin((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/pl");
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    garbage = await startTcpOrigin((socket) => socket.end("this is not HTTP at all\r\n\r\n"));
    bigHead = await startTcpOrigin((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\nx-huge: ${"h".repeat(128 * 1024)}\r\ncontent-length: 0\r\n\r\n`);
    });
    shortBody = await startTcpOrigin((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly ten b");
      setTimeout(() => socket.destroy(), 20);
    });
    const refusedPort = await closedPort();
    const manifest = `
[local_server.backends.origin]
url = "${plain.url}"

[local_server.backends.override]
url = "${plain.url}"
override_host = "www.example.test"

[local_server.backends.prefixed]
url = "${plain.url}/api/v1/"

[local_server.backends.pooled]
url = "${pooled.url}"

[local_server.backends.tls_pem]
url = "${tls.url}"
cert_host = "origin.test"
ca_certificate = ${toml(ca.cert)}

[local_server.backends.tls_file]
url = "${tls.url}"
cert_host = "origin.test"
ca_certificate = { file = "${ca.certFile}" }
override_host = "www.example.test"

[local_server.backends.tls_no_sni]
url = "${tls.url}"
cert_host = "origin.test"
use_sni = false
ca_certificate = [${toml(ca.cert)}]

[local_server.backends.tls_untrusted]
url = "${tls.url}"
cert_host = "origin.test"

[local_server.backends.tls_wrong_name]
url = "${tls.url}"
ca_certificate = ${toml(ca.cert)}

[local_server.backends.mtls]
url = "${mtls.url}"
cert_host = "origin.test"
ca_certificate = ${toml(ca.cert)}
client_certificate = { certificate_file = "${client.certFile}", key_file = "${client.keyFile}" }

[local_server.backends.mtls_missing]
url = "${strict.url}"
cert_host = "origin.test"
ca_certificate = ${toml(ca.cert)}

[local_server.backends.silent]
url = "${silent.url}"
first_byte_timeout_ms = 300

[local_server.backends.stall]
url = "${stall.url}"
between_bytes_timeout_ms = 300

[local_server.backends.gzip]
url = "${gzip.url}"

[local_server.backends.refused]
url = "http://127.0.0.1:${refusedPort}"

[local_server.backends.reset]
url = "${reset.url}"

[local_server.backends.garbage]
url = "${garbage.url}"

[local_server.backends.big_head]
url = "${bigHead.url}"

[local_server.backends.short_body]
url = "${shortBody.url}"
`;
    server = await serve(proxy, { manifest });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([plain, pooled, tls, mtls, strict, silent, stall, gzip, reset, garbage, bigHead, shortBody].map((origin) => origin?.close()));
    ca?.remove();
  });

  const via = (backend: string, path = "/", headers: Record<string, string> = {}) =>
    rawRequest(server.url + path, { headers: { "x-backend": backend, ...headers } });

  async function seenVia(backend: string, path = "/", headers: Record<string, string> = {}): Promise<Seen> {
    const response = await via(backend, path, headers);
    expect(response.status, response.body.toString()).toBe(200);
    return JSON.parse(response.body.toString()) as Seen;
  }

  /** The failed send's status and `$send_error_detail` tag, as the guest saw them. */
  async function sendFailure(backend: string, headers: Record<string, string> = {}) {
    const response = await via(backend, "/", headers);
    expect(response.status, response.body.toString()).toBe(502);
    return { status: Number(response.headers["x-send-status"]), tag: Number(response.headers["x-send-error-detail"]) };
  }

  async function expectStillServing() {
    expect((await seenVia("origin", "/after-failure")).url).toBe("/after-failure");
  }

  describe("the request the origin sees", () => {
    it("carries the client's Host when the backend has no override_host", async () => {
      expect(await seenVia("origin", "/x", { host: "client.example" })).toMatchObject({ host: "client.example", url: "/x" });
    });

    it("carries override_host as Host when the backend sets one", async () => {
      expect(await seenVia("override", "/y", { host: "client.example" })).toMatchObject({ host: "www.example.test", url: "/y" });
    });

    it("has the backend URL's path prefix before the request's path and query", async () => {
      expect((await seenVia("prefixed", "/items?q=1&r=2")).url).toBe("/api/v1/items?q=1&r=2");
      expect((await seenVia("prefixed", "/")).url).toBe("/api/v1/");
    });

    it("carries the client's method and body", async () => {
      const response = await rawRequest(server.url + "/upload", {
        method: "POST",
        headers: { "x-backend": "origin", "content-type": "text/plain" },
        body: "payload ".repeat(1000),
      });
      expect(JSON.parse(response.body.toString())).toMatchObject({ method: "POST", url: "/upload", body: "payload ".repeat(1000) });
      const received = plain.requests.find((r) => r.url === "/upload")!;
      expect(received.headers["content-length"]).toBe("8000");
    });

    it("reuses pooled connections across many sequential requests", async () => {
      const before = pooledConnections;
      for (let i = 0; i < 25; i++) expect((await seenVia("pooled", `/n/${i}`)).url).toBe(`/n/${i}`);
      expect(pooled.requests.length).toBeGreaterThanOrEqual(25);
      expect(pooledConnections - before).toBeLessThanOrEqual(3);
    });
  });

  describe("TLS", () => {
    it("trusts an origin signed by ca_certificate (PEM text) and verifies cert_host, not the URL's IP", async () => {
      const handshakes = tls.handshakes.length;
      expect(await seenVia("tls_pem", "/secure", { host: "client.example" })).toMatchObject({ url: "/secure", host: "client.example" });
      // SNI is the name verified (cert_host), not the Host header.
      expect(tls.handshakes.slice(handshakes).map((h) => h.servername)).toContain("origin.test");
      expect(tls.handshakes.slice(handshakes).map((h) => h.servername)).not.toContain("client.example");
    });

    it("trusts ca_certificate = { file = ... }, and override_host does not change the SNI name", async () => {
      const handshakes = tls.handshakes.length;
      expect(await seenVia("tls_file", "/from-file")).toMatchObject({ url: "/from-file", host: "www.example.test" });
      const names = tls.handshakes.slice(handshakes).map((h) => h.servername);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names)).toEqual(new Set(["origin.test"]));
    });

    it("sends no SNI with use_sni = false, whatever the Host header says", async () => {
      const handshakes = tls.handshakes.length;
      expect(await seenVia("tls_no_sni", "/quiet", { host: "client.example" })).toMatchObject({ url: "/quiet" });
      const names = tls.handshakes.slice(handshakes).map((h) => h.servername);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names)).toEqual(new Set([null]));
    });

    it("presents client_certificate to an origin that asks for one", async () => {
      const response = await via("mtls");
      expect(response.status, response.body.toString()).toBe(200);
      expect(JSON.parse(response.body.toString())).toEqual({ authorized: true, cn: "outpost-client" });
    });

    it("fails with tls_alert_received when the origin refuses the handshake for want of a client certificate", async () => {
      expect(await sendFailure("mtls_missing")).toEqual({ status: Status.ERROR, tag: SendErrorDetailTag.TLS_ALERT_RECEIVED });
      await expectStillServing();
    });

    it("fails with tls_certificate_error for a certificate from an untrusted CA", async () => {
      expect(await sendFailure("tls_untrusted")).toEqual({ status: Status.ERROR, tag: SendErrorDetailTag.TLS_CERTIFICATE_ERROR });
      await expectStillServing();
    });

    it("fails with tls_certificate_error when the certificate does not name the URL's host", async () => {
      expect(await sendFailure("tls_wrong_name")).toEqual({ status: Status.ERROR, tag: SendErrorDetailTag.TLS_CERTIFICATE_ERROR });
      await expectStillServing();
    });
  });

  describe("failures", () => {
    it("gives up waiting for the first byte after first_byte_timeout_ms (http_response_timeout)", async () => {
      const started = performance.now();
      expect(await sendFailure("silent")).toEqual({ status: Status.ERROR, tag: SendErrorDetailTag.HTTP_RESPONSE_TIMEOUT });
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(10_000);
      await expectStillServing();
    });

    it("cuts the client's response when a streamed backend body stalls past between_bytes_timeout_ms", async () => {
      const response = await via("stall");
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("first chunk\n");
      expect(response.cut).toBeInstanceOf(Error);
      await expectStillServing();
    });

    it("fails the guest's body read when the backend body stalls past between_bytes_timeout_ms", async () => {
      const response = await via("stall", "/", { "x-read-body": "1" });
      expect(response.status).toBe(502);
      // The body ended before it was complete: the read fails as HTTPINCOMPLETE.
      expect(Number(response.headers["x-read-status"])).toBe(Status.HTTPINCOMPLETE);
      await expectStillServing();
    });

    it("reports connection_refused for a port nothing listens on", async () => {
      expect(await sendFailure("refused")).toEqual({ status: Status.ERROR, tag: SendErrorDetailTag.CONNECTION_REFUSED });
      await expectStillServing();
    });

    it("reports an error status when the origin resets the connection mid-headers", async () => {
      const failure = await sendFailure("reset");
      expect(failure.status).not.toBe(Status.OK);
      expect([SendErrorDetailTag.CONNECTION_TERMINATED, SendErrorDetailTag.HTTP_INCOMPLETE_RESPONSE]).toContain(failure.tag);
      await expectStillServing();
    });

    it("reports http_protocol_error for a response that is not HTTP", async () => {
      expect(await sendFailure("garbage")).toEqual({ status: Status.HTTPINVALID, tag: SendErrorDetailTag.HTTP_PROTOCOL_ERROR });
      await expectStillServing();
    });

    it("reports http_response_header_section_too_large for a huge response head", async () => {
      expect(await sendFailure("big_head")).toEqual({
        status: Status.HTTPHEADTOOLARGE,
        tag: SendErrorDetailTag.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE,
      });
      await expectStillServing();
    });

    it("cuts the client's response when the origin closes before the declared length", async () => {
      const response = await via("short_body");
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("only ten b");
      expect(response.cut).toBeInstanceOf(Error);
      const read = await via("short_body", "/", { "x-read-body": "1" });
      expect(read.status).toBe(502);
      expect(Number(read.headers["x-read-status"])).toBe(Status.HTTPINCOMPLETE);
      await expectStillServing();
    });

    it("answers INVAL for a backend name the manifest does not define", async () => {
      expect((await sendFailure("nowhere")).status).toBe(Status.INVAL);
      await expectStillServing();
    });
  });

  describe("gzip auto-decompression", () => {
    it("gunzips the body and drops content-encoding and content-length when asked", async () => {
      const response = await via("gzip", "/", { "x-decompress": "1" });
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("squeezed ".repeat(200));
      expect(response.headers["content-encoding"]).toBeUndefined();
      // The guest's response is re-framed for the decompressed length.
      expect(response.headers["content-length"] ?? String(response.body.byteLength)).toBe(String(response.body.byteLength));
    });

    it("passes the gzip bytes through untouched when not asked", async () => {
      const response = await via("gzip");
      expect(response.status).toBe(200);
      expect(response.headers["content-encoding"]).toBe("gzip");
      expect(response.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    });
  });

  it("closes promptly while an origin request is still waiting for its first byte", async () => {
    const hanging = await startOrigin(() => new Promise(() => {}));
    const quick = await serve(proxy, { backends: { origin: hanging.url } });
    const outcome = rawRequest(quick.url + "/").catch((error: Error) => error);
    await expect.poll(() => hanging.requests.length, { timeout: 20_000 }).toBe(1);
    const started = performance.now();
    await quick.close();
    // The backend's first-byte timeout is the 15 s default: closing must not wait for it.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await outcome).toBeInstanceOf(Error);
    await hanging.close();
  });
});
