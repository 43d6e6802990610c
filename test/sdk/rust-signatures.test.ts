// examples/signatures-rust: HTTP message signatures (RFC 9421, hmac-sha256)
// verified at the edge. Requests are signed here with Node's crypto, some
// correctly and some tampered with, and sent through the real `outpost serve`
// to a real origin, which must see only the good ones.
import { execFile } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpostServe, type RunningCli } from "../helpers/cli.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { cargo, ROOT, TOOLCHAINS, toolchain } from "../helpers/toolchains.ts";

const run = promisify(execFile);
const present = toolchain("cargo");
const KEY_ID = "demo-key";
const SECRET = "demo-secret-do-not-use"; // examples/signatures-rust/fastly.toml's sample key

interface Signing {
  components: string[];
  created?: number;
  expires?: number;
  keyid?: string;
  alg?: string | null;
  secret?: string;
  label?: string;
}

interface SignedRequest {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const now = () => Math.floor(Date.now() / 1000);

/** Signs a request as an RFC 9421 client would: the base from the request as sent. */
function sign(base: string, request: SignedRequest, signing: Signing): Record<string, string> {
  const url = new URL(request.path, base);
  const method = request.method ?? "GET";
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined && !headers["content-digest"]) {
    headers["content-digest"] = `sha-256=:${createHash("sha256").update(request.body).digest("base64")}:`;
  }
  const values: Record<string, string> = {
    "@method": method,
    "@target-uri": url.href,
    "@authority": url.host,
    "@path": url.pathname,
    "@query": url.search || "?",
  };
  let params = `(${signing.components.map((c) => `"${c}"`).join(" ")})`;
  params += `;created=${signing.created ?? now()}`;
  if (signing.expires !== undefined) params += `;expires=${signing.expires}`;
  params += `;keyid="${signing.keyid ?? KEY_ID}"`;
  if (signing.alg !== null) params += `;alg="${signing.alg ?? "hmac-sha256"}"`;
  const lines = signing.components.map((c) => `"${c}": ${c.startsWith("@") ? values[c] : headers[c]}`);
  lines.push(`"@signature-params": ${params}`);
  const mac = createHmac("sha256", signing.secret ?? SECRET).update(lines.join("\n")).digest("base64");
  const label = signing.label ?? "sig1";
  return { ...headers, "signature-input": `${label}=${params}`, signature: `${label}=:${mac}:` };
}

const FULL = ["@method", "@authority", "@target-uri", "content-digest", "date"];

describe.skipIf(!present)("examples/signatures-rust", () => {
  let origin: Origin;
  let cli: RunningCli;
  let scratch: string;

  beforeAll(async () => {
    const wasm = await cargo("examples/signatures-rust", ["sdk/rust"]);
    origin = await startOrigin((req, res, body) => {
      res.setHeader("x-origin-saw-keyid", String(req.headers["signature-keyid"]));
      res.end(`origin: ${req.method} ${req.url} ${body}`);
    });
    // The example's own fastly.toml, its backend pointed at the test origin.
    scratch = mkdtempSync(join(tmpdir(), "outpost-signatures-"));
    const manifest = readFileSync(join(ROOT, "examples/signatures-rust/fastly.toml"), "utf8").replace("http://127.0.0.1:8080/", origin.url);
    mkdirSync(join(scratch, "bin"));
    writeFileSync(join(scratch, "fastly.toml"), manifest);
    writeFileSync(join(scratch, "bin/main.wasm"), wasm);
    cli = await outpostServe([scratch, "--admin-addr", "off", "--state-dir", "off", "--cpu-ms", "10000"]);
  });
  afterAll(async () => {
    await cli?.stop();
    await origin?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function send(request: SignedRequest, headers: Record<string, string>): Promise<{ status: number; text: string; keyid: string | null }> {
    const response = await fetch(new URL(request.path, cli.url), { method: request.method ?? "GET", body: request.body, headers });
    return { status: response.status, text: await response.text(), keyid: response.headers.get("x-origin-saw-keyid") };
  }

  /** Signs `request`, optionally tampers with what is sent, and expects a 401 with `reason`. */
  async function refused(reason: string, request: SignedRequest, signing: Signing, tamper: (sent: SignedRequest, headers: Record<string, string>) => void = () => {}) {
    const headers = sign(cli.url, request, signing);
    const sent = { ...request };
    tamper(sent, headers);
    const before = origin.requests.length;
    const answer = await send(sent, headers);
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(`signature verification failed: ${reason}\n`);
    expect(origin.requests.length).toBe(before);
  }

  const post = (): SignedRequest => ({ method: "POST", path: "/api/orders?id=7", body: '{"qty": 3}', headers: { date: new Date().toUTCString() } });

  it("forwards a correctly signed POST, body and all, naming the key to the origin", async () => {
    const request = post();
    const answer = await send(request, { ...sign(cli.url, request, { components: FULL }), "signature-keyid": "forged" });
    expect(answer).toEqual({ status: 200, text: 'origin: POST /api/orders?id=7 {"qty": 3}', keyid: KEY_ID });
  });

  it("forwards a signed GET that covers @path and @query instead of the whole URI", async () => {
    const request = { path: "/items?page=2" };
    const answer = await send(request, sign(cli.url, request, { components: ["@method", "@authority", "@path", "@query"], alg: null }));
    expect(answer).toEqual({ status: 200, text: "origin: GET /items?page=2 ", keyid: KEY_ID });
  });

  it("refuses requests that carry no signature", async () => {
    const answer = await send({ path: "/items" }, {});
    expect(answer.status).toBe(401);
    expect(answer.text).toBe("signature verification failed: missing Signature-Input header\n");
    await refused("missing Signature header", { path: "/items" }, { components: ["@method", "@authority", "@path"] }, (_, h) => delete h.signature);
  });

  it("refuses tampered requests: body, digest, method, path, query, a covered header", async () => {
    await refused("content-digest does not match the body", post(), { components: FULL }, (sent) => (sent.body = '{"qty": 300}'));
    await refused("signature does not match", post(), { components: FULL }, (sent, h) => {
      sent.body = '{"qty": 300}';
      h["content-digest"] = `sha-256=:${createHash("sha256").update(sent.body).digest("base64")}:`;
    });
    await refused("signature does not match", post(), { components: FULL }, (sent) => (sent.method = "PUT"));
    await refused("signature does not match", post(), { components: FULL }, (sent) => (sent.path = "/api/orders?id=8"));
    await refused("signature does not match", { path: "/items?page=2" }, { components: ["@method", "@authority", "@path", "@query"] }, (sent) => (sent.path = "/items?page=3"));
    await refused("signature does not match", post(), { components: FULL }, (_, h) => (h.date = new Date(Date.now() - 1000).toUTCString() + " "));
    await refused("signature does not match", post(), { components: FULL, secret: "another secret" });
    await refused("signature does not match", post(), { components: FULL }, (_, h) => (h.signature = h.signature.replace(/:(.)/, (_m, c) => `:${c === "A" ? "B" : "A"}`)));
  });

  it("refuses expired, stale and future signatures", async () => {
    await refused("signature expired", post(), { components: FULL, expires: now() - 1 });
    await refused("signature too old (more than 300 s)", post(), { components: FULL, created: now() - 600 });
    await refused("signature created in the future", post(), { components: FULL, created: now() + 3600 });
    const fresh = post();
    const answer = await send(fresh, sign(cli.url, fresh, { components: FULL, expires: now() + 60 }));
    expect(answer.status).toBe(200);
  });

  it("refuses unknown keys, other algorithms, thin coverage and unsigned bodies", async () => {
    await refused('unknown key "nobody"', post(), { components: FULL, keyid: "nobody" });
    await refused("unsupported algorithm \"rsa-pss-sha512\"", post(), { components: FULL, alg: "rsa-pss-sha512" });
    const thin = "the signature must cover @method, @authority and @target-uri (or @path, and @query when there is one)";
    await refused(thin, post(), { components: ["@method", "@target-uri", "content-digest"] });
    await refused(thin, { path: "/items?page=2" }, { components: ["@method", "@authority", "@path"] });
    await refused("the signature must cover content-digest when there is a body", post(), { components: ["@method", "@authority", "@target-uri"] });
    await refused("missing component x-tenant", post(), { components: [...FULL, "x-tenant"] }, (_, h) => delete h["x-tenant"]);
    await refused("malformed Signature-Input: expected ' ' or ')' at character 15", { path: "/" }, { components: ["@method"] }, (_, h) => {
      h["signature-input"] = 'sig1=("@method"x)';
    });
  });

  it("verifies with its own SHA-256 and HMAC, which pass the FIPS, RFC 4231 and RFC 9421 vectors natively", async () => {
    const out = join(ROOT, "test/.build", `signatures-unit-${process.pid}`);
    await run(TOOLCHAINS.rust, ["--edition", "2021", "--test", "-o", out, join(ROOT, "examples/signatures-rust/src/lib.rs")]);
    const { stdout } = await run(out, []);
    rmSync(out, { force: true });
    expect(stdout).toMatch(/test result: ok\. 8 passed; 0 failed/);
    for (const name of ["sha256_fips_vectors", "hmac_rfc4231_vectors", "reproduces_the_rfc_9421_hmac_example"]) expect(stdout).toContain(`${name} ... ok`);
  });
});
