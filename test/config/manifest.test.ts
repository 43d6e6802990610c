// Reading fastly.toml: valid manifests give the backends they describe, and
// every mistake gives a message that names the file, the key and the fix.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendHealth } from "../../runtime/abi/constants.ts";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { LATEST_MANIFEST_VERSION, parseManifest, readManifest } from "../../runtime/config/manifest.ts";
import { FIXTURES } from "../helpers/wat.ts";

const PEM = (label: string) => `-----BEGIN ${label}-----\nbm90IHJlYWw=\n-----END ${label}-----\n`;

/** Parses manifest text as if it were /project/fastly.toml. */
const parse = (text: string) => parseManifest(text, "/project/fastly.toml", "/project");

/** The ConfigError message `text` is rejected with. */
function rejection(text: string, dir = "/project"): string {
  try {
    parseManifest(text, join(dir, "fastly.toml"), dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the manifest was accepted");
}

const backend = (body: string) => `[local_server.backends.origin]\n${body}\n`;

describe("valid manifests", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "outpost-manifest-"));
    mkdirSync(join(dir, "certs"));
    writeFileSync(join(dir, "certs/ca.pem"), PEM("CERTIFICATE"));
    writeFileSync(join(dir, "certs/client.pem"), PEM("CERTIFICATE"));
    writeFileSync(join(dir, "certs/client.key"), PEM("PRIVATE KEY"));
    writeFileSync(join(dir, "fastly.toml"), readFileSync(join(FIXTURES, "manifests/everything.toml")));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads every key of a full manifest, resolving files next to it", () => {
    const manifest = readManifest(join(dir, "fastly.toml"));
    expect(manifest).toMatchObject({ manifestVersion: 3, name: "edge-shop", language: "other", buildScript: "make wasm", warnings: [] });
    const byName = Object.fromEntries(manifest.backends.map((b) => [b.name, b]));
    expect(Object.keys(byName).sort()).toEqual(["api", "legacy", "static"]);
    expect(byName.api).toMatchObject({
      overrideHost: "api.internal",
      certHost: "api.shop.test",
      useSni: false,
      grpc: false,
      caCertificates: [PEM("CERTIFICATE")],
      clientCertificate: { cert: PEM("CERTIFICATE"), key: PEM("PRIVATE KEY") },
      connectTimeoutMs: 500,
      firstByteTimeoutMs: 2000,
      betweenBytesTimeoutMs: 3000,
      health: BackendHealth.UNHEALTHY,
    });
    expect(byName.api.url.href).toBe("https://api.shop.test:8443/v2/");
    expect(byName.static.caCertificates).toHaveLength(1);
    expect(byName.legacy.url.href).toBe("http://legacy.shop.test/");
  });

  it("gives a backend the platform's defaults for what it leaves out", () => {
    const [origin] = parse(backend(`url = "http://127.0.0.1:8080/"`)).backends;
    expect(origin).toMatchObject({
      name: "origin",
      overrideHost: null,
      certHost: null,
      useSni: true,
      grpc: false,
      caCertificates: null,
      clientCertificate: null,
      connectTimeoutMs: 1_000,
      firstByteTimeoutMs: 15_000,
      betweenBytesTimeoutMs: 10_000,
      health: BackendHealth.UNKNOWN,
    });
  });

  it("accepts inline PEM, a list of them, and { value = ... } for ca_certificate", () => {
    const pem = PEM("CERTIFICATE");
    const [a] = parse(backend(`url = "https://a.test"\nca_certificate = '''\n${pem}'''`)).backends;
    const [b] = parse(backend(`url = "https://a.test"\nca_certificate = ['''\n${pem}''', { value = '''\n${pem}''' }]`)).backends;
    expect(a.caCertificates).toEqual([pem]);
    expect(b.caCertificates).toEqual([pem, pem]);
  });

  it("treats an empty manifest as the latest version with no backends", () => {
    expect(parse("")).toMatchObject({ manifestVersion: LATEST_MANIFEST_VERSION, backends: [], warnings: [] });
  });

  it("accepts the legacy string forms of manifest_version", () => {
    expect(parse(`manifest_version = "0.1.0"`).manifestVersion).toBe(LATEST_MANIFEST_VERSION);
    expect(parse(`manifest_version = "2.0.0"`).manifestVersion).toBe(2);
    expect(parse(`manifest_version = 1`).manifestVersion).toBe(1);
  });

  it("warns about, but accepts, unknown top-level keys", () => {
    const manifest = parse(`manifest_version = 3\nnmae = "typo"`);
    expect(manifest.warnings).toEqual([`/project/fastly.toml: unknown key "nmae" (did you mean "name"?)`]);
  });

  // The reference's annotated example (shared with the ABI notes, outside this repository).
  const reference = "/work/shared/abi/MANIFEST.md";
  it.runIf(existsSync(reference))("parses the annotated example of the manifest reference", () => {
    const markdown = readFileSync(reference, "utf8");
    const section = markdown.slice(markdown.indexOf("## 2."));
    const example = /```toml\n([\s\S]*?)```/.exec(section)![1];
    const manifest = parse(example);
    expect(manifest.name).toBe("my-proxy");
    expect(manifest.backends.map((b) => [b.name, b.url.href, b.overrideHost])).toEqual([
      ["origin", "http://127.0.0.1:8080/", "www.example.com"],
    ]);
  });
});

describe("mistakes in fastly.toml", () => {
  it("points at the line and column of invalid TOML", () => {
    const message = rejection(`name = "x"\n\n[local_server.backends.origin]\nurl = "http://a.test\n`);
    expect(message).toMatch(/^\/project\/fastly\.toml:4:\d+: invalid TOML: /);
  });

  it("rejects an unknown [local_server] key, suggesting the near miss", () => {
    expect(rejection(`[local_server.backend.origin]\nurl = "http://a.test"`)).toBe(
      `/project/fastly.toml: unknown key "local_server.backend" (did you mean "backends"?)`,
    );
  });

  it("rejects an unknown backend key, suggesting the near miss or listing the keys", () => {
    expect(rejection(backend(`url = "http://a.test"\noveride_host = "x"`))).toBe(
      `/project/fastly.toml: local_server.backends.origin: unknown key "overide_host" (did you mean "override_host"?)`,
    );
    const far = rejection(backend(`url = "http://a.test"\nretries = 3`));
    expect(far).toContain(`unknown key "retries" (expected one of: url, override_host,`);
  });

  it("rejects a backend without a url, with an example", () => {
    expect(rejection(backend(`override_host = "a.test"`))).toBe(
      `/project/fastly.toml: local_server.backends.origin: missing "url" (for example url = "http://127.0.0.1:8080/")`,
    );
  });

  it("rejects urls that are not http(s)://host[:port][/path]", () => {
    expect(rejection(backend(`url = "not a url"`))).toContain(`local_server.backends.origin.url: "not a url" is not a URL`);
    expect(rejection(backend(`url = "localhost:8080"`))).toContain(`(did you mean "http://localhost:8080"?)`);
    expect(rejection(backend(`url = "127.0.0.1:8080"`))).toContain(`(did you mean "http://127.0.0.1:8080"?)`);
    expect(rejection(backend(`url = "ftp://files.test/"`))).toContain(`the scheme must be http or https, got "ftp"`);
    expect(rejection(backend(`url = "http://a.test/?x=1"`))).toContain(`no query or fragment`);
    expect(rejection(backend(`url = "http://user:pw@a.test/"`))).toContain(`credentials in the URL are not sent`);
  });

  it("names the key, the expected type and the value for wrong types", () => {
    expect(rejection(backend(`url = 8080`))).toBe(
      `/project/fastly.toml: local_server.backends.origin.url must be a string, got 8080 (quote it: "8080")`,
    );
    expect(rejection(backend(`url = "http://a.test"\nuse_sni = "no"`))).toContain(
      `local_server.backends.origin.use_sni must be true or false (unquoted), got "no"`,
    );
    expect(rejection(backend(`url = "http://a.test"\nfirst_byte_timeout_ms = "300"`))).toContain(
      `local_server.backends.origin.first_byte_timeout_ms must be a whole number of milliseconds above 0, got "300" (for example first_byte_timeout_ms = 15000)`,
    );
    for (const bad of ["0", "-5", "1.5", "4294967296"]) {
      expect(rejection(backend(`url = "http://a.test"\nconnect_timeout_ms = ${bad}`))).toContain(`connect_timeout_ms must be a whole number`);
    }
    expect(rejection(`[local_server]\nbackends = "http://a.test"`)).toContain(`[local_server.backends] must be a table, got "http://a.test"`);
    expect(rejection(`[local_server.backends]\norigin = 5`)).toContain(`local_server.backends.origin must be a table, got 5`);
  });

  it("lists the allowed values for a bad health", () => {
    const message = `local_server.backends.origin.health must be "unknown", "healthy" or "unhealthy"`;
    expect(rejection(backend(`url = "http://a.test"\nhealth = "ok"`))).toContain(`${message}, got "ok"`);
    expect(rejection(backend(`url = "http://a.test"\nhealth = true`))).toContain(`${message}, got true`);
  });

  it("says which CA file cannot be read, where it was looked for, and how paths resolve", () => {
    const message = rejection(backend(`url = "https://a.test"\nca_certificate = { file = "missing/ca.pem" }`), "/nonexistent-dir");
    expect(message).toContain(`local_server.backends.origin.ca_certificate: cannot read "missing/ca.pem" (/nonexistent-dir/missing/ca.pem): no such file`);
    expect(message).toContain("relative paths start at the directory of fastly.toml");
  });

  it("rejects CA and client certificates that are not PEM", () => {
    expect(rejection(backend(`url = "https://a.test"\nca_certificate = "MIIB..."`))).toContain(`ca_certificate: expected PEM text`);
    expect(rejection(backend(`url = "https://a.test"\nca_certificate = 7`))).toContain(`ca_certificate must be PEM text, a list of them, or { file = "ca.pem" }`);
    expect(rejection(backend(`url = "https://a.test"\nclient_certificate = { certificate = "x" }`))).toContain(
      `client_certificate needs a certificate and a key`,
    );
  });

  it("rejects a manifest_version newer than the host understands, or not a version", () => {
    expect(rejection(`manifest_version = 4`)).toBe(
      `/project/fastly.toml: manifest_version 4 is newer than this host understands (${LATEST_MANIFEST_VERSION})`,
    );
    expect(rejection(`manifest_version = "three"`)).toContain(`manifest_version must be an integer such as 3, got "three"`);
  });

  it("says how to create a manifest when the file is missing", () => {
    expect(() => readManifest("/nonexistent-dir/fastly.toml")).toThrow(/no such file\. Create one with `outpost init`, or pass --config PATH/);
  });
});
