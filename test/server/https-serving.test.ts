// Serving HTTPS (`serve --tls-cert --tls-key [--tls-client-ca]`) and what
// guests learn of the handshake (`downstream_tls_*`): real TLS clients
// (node:https with chosen versions, ciphers, SNI and client certificates)
// against a js-compute guest (event.client.tls*) and a raw-ABI WAT guest.
import { createHash } from "node:crypto";
import { request, type RequestOptions } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientCertVerifyResult } from "../../runtime/abi/constants.ts";
import { Status } from "../../runtime/abi/status.ts";
import { ja3Text, ja4, parseClientHello } from "../../runtime/net/client-hello.ts";
import { createTestCa, type TestCa } from "../helpers/certs.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

/** One HTTPS request with the given TLS settings; the body as bytes. */
function httpsGet(url: string, options: RequestOptions = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serving HTTPS", () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let probe: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    ca = createTestCa();
    otherCa = createTestCa("Someone Else's CA");
    const site = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
    probe = await serve(watFixture("tls-probe"), { tls: { cert: site.cert, key: site.key, clientCa: ca.cert } });
    plain = await serve(watFixture("tls-probe"));
  });
  afterAll(async () => {
    await probe?.close();
    await plain?.close();
    ca?.remove();
    otherCa?.remove();
  });

  const read = (body: Buffer) => ({ u32: (i: number) => body.readUInt32LE(i * 4), ja3: body.subarray(28, 44).toString("hex") });

  it("listens on https, and gives raw-ABI guests the handshake's facts with the ABI's conventions", async () => {
    expect(probe.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await httpsGet(probe.url.replace("127.0.0.1", "localhost"), { ca: ca.cert, servername: "localhost" });
    expect(status).toBe(200);
    const { u32, ja3 } = read(body);
    expect([u32(0), u32(1)]).toEqual([Status.OK, ClientCertVerifyResult.CERTIFICATE_MISSING]);
    expect([u32(2), u32(3)]).toEqual([Status.OK, 16]);
    expect(ja3).toMatch(/^[0-9a-f]{32}$/);
    expect([u32(4), u32(5)]).toEqual([Status.BUFLEN, "TLSv1.3".length]);
    expect(u32(6)).toBe(Status.OK);
  });

  it("reports a client certificate's verdict against --tls-client-ca", async () => {
    const trusted = ca.issue("client", { client: true });
    const stranger = otherCa.issue("stranger", { client: true });
    const asked = async (cert: { cert: string; key: string }) => read((await httpsGet(probe.url, { ca: ca.cert, cert: cert.cert, key: cert.key, servername: "localhost" })).body).u32(1);
    expect(await asked(trusted)).toBe(ClientCertVerifyResult.OK);
    expect(await asked(stranger)).toBe(ClientCertVerifyResult.UNKNOWN_CA);
  });

  it("answers none for every TLS fact on plain HTTP", async () => {
    const { u32 } = read(Buffer.from(await (await plain.get("/")).arrayBuffer()));
    expect([u32(0), u32(2), u32(4), u32(6)]).toEqual([Status.NONE, Status.NONE, Status.NONE, Status.NONE]);
  });
});

describe.skipIf(!toolchain("js-compute"))("a js-compute guest over HTTPS (event.client.tls*)", () => {
  let ca: TestCa;
  let server: TestServer;

  beforeAll(async () => {
    ca = createTestCa();
    const site = ca.issue("localhost", { dns: ["localhost", "shop.test"], ips: ["127.0.0.1"] });
    const client = ca.issue("visitor", { client: true });
    server = await serve(await jsCompute("test/fixtures/js/tls-info.js"), { tls: { cert: site.cert, key: site.key, clientCa: ca.cert } });
    Object.assign(server, { clientCert: client });
  });
  afterAll(async () => {
    await server?.close();
    ca?.remove();
  });

  it("sees the protocol, cipher, SNI, ClientHello and its JA3 and JA4, for the ciphers the client offered", async () => {
    const { body } = await httpsGet(server.url + "/tls?x=1", {
      ca: ca.cert,
      servername: "shop.test",
      maxVersion: "TLSv1.2",
      ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    const info = JSON.parse(body.toString());
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/tls\?x=1$/);
    expect(info.protocol).toBe("TLSv1.2");
    // The server picks one of the two by its own preference.
    expect(["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"]).toContain(info.cipher);
    expect(info.sni).toBe("shop.test");
    const hello = parseClientHello(Buffer.from(info.hello, "base64"))!;
    expect(hello.serverName).toBe("shop.test");
    // The two ciphers the client was told to offer, in its order (OpenSSL may add signalling values after).
    expect(hello.ciphers.slice(0, 2)).toEqual([0xc02c, 0xc02b]);
    // js-compute shows the 16 bytes in upper-case hex.
    expect(info.ja3.toLowerCase()).toBe(createHash("md5").update(ja3Text(hello)).digest("hex"));
    expect(info.ja4).toBe(ja4(hello));
    expect(info.ja4).toMatch(/^t12d\d{4}00_[0-9a-f]{12}_[0-9a-f]{12}$/);
    expect(info.certificate).toBeNull();
  });

  it("sees TLS 1.3 and the client's certificate in PEM", async () => {
    const client = (server as TestServer & { clientCert: { cert: string; key: string } }).clientCert;
    const { body } = await httpsGet(server.url, { ca: ca.cert, servername: "localhost", cert: client.cert, key: client.key });
    const info = JSON.parse(body.toString());
    expect(info.protocol).toBe("TLSv1.3");
    expect(info.cipher).toMatch(/^TLS_/);
    expect(info.certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(info.certificate.replace(/\s+/g, "")).toBe(client.cert.replace(/\s+/g, ""));
  });

  it("keeps serving after a client that is not speaking TLS", async () => {
    const url = new URL(server.url);
    const text = await new Promise<string>((resolve) => {
      import("node:net").then(({ connect }) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        let got = "";
        socket.on("data", (data) => (got += data.toString("latin1")));
        socket.on("close", () => resolve(got));
        socket.on("error", () => resolve(got));
      });
    });
    expect(text).not.toMatch(/^HTTP\/1\.1 200/);
    expect((await httpsGet(server.url, { ca: ca.cert, servername: "localhost" })).status).toBe(200);
  });
});
