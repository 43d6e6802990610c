// `outpost serve --tls-cert --tls-key [--tls-client-ca]` as a user runs it:
// HTTPS for an app and for the no-code service, and a clear message for each
// mistake in the flags or the files; and `--origin-ca` for an https origin
// with a private CA.
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { createTestCa, type TestCa } from "../helpers/certs.ts";
import { startOrigin, type Origin } from "../helpers/origin.ts";
import { startTlsOrigin } from "../helpers/socket-origins.ts";

function httpsText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca, servername: "localhost", agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve(text));
    })
      .on("error", reject)
      .end();
  });
}

describe("outpost serve over HTTPS", () => {
  let ca: TestCa;
  let site: { certFile: string; keyFile: string };
  let origin: Origin;

  beforeAll(async () => {
    ca = createTestCa();
    site = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
    origin = await startOrigin((_req, res) => {
      res.end("from the origin\n");
    });
  });
  afterAll(async () => {
    await origin?.close();
    ca?.remove();
  });

  it("serves an app on https", async () => {
    const server = await outpostServe(["examples/hello", "--tls-cert", site.certFile, "--tls-key", site.keyFile, "--admin-addr", "off"]);
    try {
      expect(server.url).toMatch(/^https:\/\//);
      expect(await httpsText(server.url, ca.cert)).toBe("Hello from Outpost!\n");
    } finally {
      await server.stop();
    }
  });

  it("serves the no-code service on https", async () => {
    const server = await outpostServe(["--origin", origin.url, "--tls-cert", site.certFile, "--tls-key", site.keyFile, "--admin-addr", "off"]);
    try {
      expect(await httpsText(server.url + "/page", ca.cert)).toBe("from the origin\n");
    } finally {
      await server.stop();
    }
  });

  it("trusts an https origin's private CA with --origin-ca", async () => {
    const tlsOrigin = await startTlsOrigin(ca.issue("origin", { ips: ["127.0.0.1"] }), (_req, res) => {
      res.end("from the private origin\n");
    });
    const refused = await outpostServe(["--origin", tlsOrigin.url, "--admin-addr", "off"]);
    const trusted = await outpostServe(["--origin", tlsOrigin.url, "--origin-ca", ca.certFile, "--admin-addr", "off"]);
    try {
      const failed = await fetch(refused.url + "/x");
      expect([failed.status, await failed.text()]).toEqual([502, "502 Bad Gateway: the origin's TLS certificate was not accepted\n"]);
      expect(await (await fetch(trusted.url + "/x")).text()).toBe("from the private origin\n");
    } finally {
      await refused.stop();
      await trusted.stop();
      await tlsOrigin.close();
    }
    const misplaced = await outpost(["serve", "examples/hello", "--origin-ca", ca.certFile]);
    expect(misplaced.stderr).toMatch(/--origin-ca applies only with --origin/);
  });

  it.each([
    [["--tls-cert", "CERT"], /--tls-cert and --tls-key go together/],
    [["--tls-client-ca", "CERT"], /--tls-client-ca needs --tls-cert and --tls-key/],
    [["--tls-cert", "CERT", "--tls-key", "/nonexistent.pem"], /--tls-key \/nonexistent\.pem: no such file/],
    [["--tls-cert", "CERT", "--tls-key", "CERT"], /--tls-key .*: not a private key/],
    [["--tls-cert", "CERT", "--tls-key", "package.json"], /--tls-key package\.json: not a PEM file/],
    [["--tls-cert", "CERT", "--tls-key", "CA_KEY"], /key values mismatch/],
  ])("refuses %j with a clear message", async (args, message) => {
    const resolved = args.map((arg) => (arg === "CERT" ? site.certFile : arg === "CA_KEY" ? ca.keyFile : arg));
    const result = await outpost(["serve", "examples/hello", ...resolved]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
