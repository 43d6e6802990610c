// Secret stores: the ways fastly.toml may give a secret (inline data, a
// file, an environment variable, a JSON file of them), the exact statuses
// guests get, a js-compute app reading secrets, and errors that name what is
// wrong without ever showing a secret's value.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { parseSecretStores } from "../../runtime/config/secret-stores.ts";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

const Status = { OK: 0, BADF: 3, BUFLEN: 4, NONE: 10 };
/** A value that must never show up in a message or a log line. */
const SECRET = "hunter2-do-not-print";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "outpost-secret-store-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(entries: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(dir, "p-"));
  for (const [path, content] of Object.entries(entries)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function parse(toml: string, root = "/project", env: NodeJS.ProcessEnv = {}) {
  return parseSecretStores(parseManifest(toml, join(root, "fastly.toml"), root), env);
}

function rejection(toml: string, root = "/project", env: NodeJS.ProcessEnv = {}): string {
  try {
    parse(toml, root, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the secret stores were accepted");
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("[local_server.secret_stores] in fastly.toml", () => {
  it("reads data, files next to fastly.toml, environment variables and JSON files", () => {
    const root = files({ "keys/tls.key": Buffer.from([1, 2, 0, 255]), "secrets.json": JSON.stringify({ token: "t0k", "db.password": "pw" }) });
    const stores = parse(
      `[local_server.secret_stores]
vault = [
  { key = "first", data = "inline secret" },
  { key = "binary", file = "keys/tls.key" },
  { key = "from-env", env = "OUTPOST_TEST_SECRET" },
  { key = "empty-env", env = "OUTPOST_EMPTY" },
]
other = { file = "secrets.json", format = "json" }
empty = []
`,
      root,
      { OUTPOST_TEST_SECRET: "from the environment", OUTPOST_EMPTY: "" },
    );
    expect(Object.keys(stores).sort()).toEqual(["empty", "other", "vault"]);
    expect(text(stores.vault.first)).toBe("inline secret");
    expect([...stores.vault.binary]).toEqual([1, 2, 0, 255]);
    expect(text(stores.vault["from-env"])).toBe("from the environment");
    expect(stores.vault["empty-env"].byteLength).toBe(0);
    expect(Object.fromEntries(Object.entries(stores.other).map(([k, v]) => [k, text(v)]))).toEqual({ token: "t0k", "db.password": "pw" });
    expect(stores.empty).toEqual({});
  });

  it("refuses an env reference to an unset variable, naming the variable", () => {
    expect(rejection(`[local_server.secret_stores]\nvault = [{ key = "api", env = "OUTPOST_UNSET_VARIABLE" }]\n`)).toBe(
      `/project/fastly.toml: local_server.secret_stores.vault[0] (secret "api"): the environment variable OUTPOST_UNSET_VARIABLE is not set; set it before starting the server, or use data or file`,
    );
  });

  it("names the store and the secret in every error, and never the value", () => {
    const root = files({ "bad.json": `{"api": ${SECRET}}`, "trailing.json": `{"api": "${SECRET}",}`, "num.json": `{"api": 12345}`, "list.json": `["${SECRET}"]` });
    const cases: [string, string][] = [
      [`vault = [{ key = "api", data = "${SECRET}", env = "X" }]`, `local_server.secret_stores.vault[0] (secret "api") has data and env: give exactly one of data = "...", file = "path" or env = "VARIABLE"`],
      [`vault = [{ key = "api" }]`, `(secret "api") needs its value`],
      [`vault = [{ key = "api", data = 12345 }]`, `(secret "api"): "data" must be a string`],
      [`vault = [{ key = "bad name", data = "${SECRET}" }]`, `vault[0]: the secret name "bad name" has characters other than letters, digits, "-", "_" and "."`],
      [`vault = [{ data = "${SECRET}" }]`, `vault[0]: missing "key" (the secret's name)`],
      [`vault = [{ key = "api", dat = "${SECRET}" }]`, `vault[0]: unknown key "dat" (did you mean "data"?)`],
      [`vault = [{ key = "api", data = "${SECRET}" }, { key = "api", data = "other" }]`, `vault[1]: secret "api" is defined twice`],
      [`vault = [{ key = "api", data = "${"x".repeat(64 * 1024 + 1)}" }]`, `(secret "api") is 65537 bytes; secrets are limited to 65536 bytes (64 KiB)`],
      [`vault = [{ key = "api", file = "missing.key" }]`, `(secret "api").file: cannot read "missing.key"`],
      [`"my store!" = []`, `local_server.secret_stores."my store!": the store name "my store!" has characters other than`],
      [`vault = "${SECRET}"`, `local_server.secret_stores.vault must be an array of { key = "name", data | file | env = "..." } entries`],
      [`vault = { file = "bad.json", format = "json" }`, `local_server.secret_stores.vault.file: "bad.json" is not valid JSON`],
      [`vault = { file = "trailing.json", format = "json" }`, `"trailing.json" is not valid JSON (line 1 column`],
      [`vault = { file = "num.json", format = "json" }`, `local_server.secret_stores.vault.file: secret "api" must be a string`],
      [`vault = { file = "list.json", format = "json" }`, `"list.json" must hold a JSON object of "name": "secret" entries`],
      [`vault = { file = "num.json", format = "yaml" }`, `local_server.secret_stores.vault.format: unknown format "yaml" (the only format is "json")`],
      [`vault = { file = "num.json" }`, `local_server.secret_stores.vault: missing "format" (add format = "json")`],
    ];
    for (const [body, expected] of cases) {
      const message = rejection(`[local_server.secret_stores]\n${body}\n`, root);
      expect(message).toContain(expected);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain("12345");
    }
  });
});

describe("fastly_secret_store", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("store-secret-probe"), {
      workers: 1,
      manifest: `[local_server.secret_stores]\nvault = [{ key = "api-key", data = "k3y-for-tests" }]\n`,
    });
  });
  afterAll(() => server?.close());

  it("answers none for unknown stores and secrets, buflen with the length needed, and wraps guest bytes", async () => {
    const r = await Results.of(await server.get("/"));
    expect(r.u32()).toBe(Status.NONE); // open("nope")
    expect(r.u32()).toBe(Status.OK); // open("vault")
    expect(r.u32()).toBe(Status.NONE); // get("absent")
    expect(r.u32()).toBe(Status.OK); // get("api-key")
    expect(r.u32()).toBe(Status.BUFLEN); // 4-byte buffer
    expect(r.u32()).toBe(13);
    expect(r.u32()).toBe(0x7e); // buffer untouched
    expect(r.u32()).toBe(Status.OK);
    expect(r.text()).toBe("k3y-for-tests");
    expect(r.u32()).toBe(Status.BADF); // unknown store handle
    expect(r.u32()).toBe(Status.BADF); // unknown secret handle
    expect(r.u32()).toBe(Status.OK); // from_bytes
    expect(r.u32()).toBe(Status.OK);
    expect([...r.bytes()]).toEqual([0, 0x6d, 0x61, 0x64, 0x65, 0xff, 0x68, 0x65, 0x72, 0x65]);
    expect(r.remaining).toBe(0);
  });
});

describe.runIf(toolchain("js-compute"))("a js-compute app with fastly:secret-store", () => {
  let server: TestServer;
  beforeAll(async () => {
    const root = files({ "secrets.json": JSON.stringify({ "db.password": "correct horse" }) });
    process.env.OUTPOST_SECRET_STORE_TEST = SECRET;
    server = await serve(await jsCompute("test/fixtures/js/store-secret.js"), {
      manifest: `[local_server.secret_stores]
app = [{ key = "api-key", env = "OUTPOST_SECRET_STORE_TEST" }, { key = "utf8", data = "clé" }]
shared = { file = ${JSON.stringify(join(root, "secrets.json"))}, format = "json" }
`,
    });
  }, 60_000);
  afterAll(async () => {
    delete process.env.OUTPOST_SECRET_STORE_TEST;
    await server?.close();
  });

  const secret = async (store: string, key: string) => {
    const response = await server.get(`/?store=${encodeURIComponent(store)}&key=${encodeURIComponent(key)}`);
    return response.status === 200 ? ((await response.json()) as { plaintext: string | null; bytes: number[] | null }) : `${response.status} ${await response.text()}`;
  };

  it("gets secrets from each kind of source, null for a missing one, and refuses an unknown store", async () => {
    expect(await secret("app", "api-key")).toEqual({ plaintext: SECRET, bytes: [...Buffer.from(SECRET)] });
    expect(await secret("app", "utf8")).toEqual({ plaintext: "clé", bytes: [0x63, 0x6c, 0xc3, 0xa9] });
    expect(await secret("shared", "db.password")).toMatchObject({ plaintext: "correct horse" });
    expect(await secret("app", "absent")).toEqual({ plaintext: null, bytes: null });
    expect(await secret("nope", "api-key")).toMatch(/^404 .*Error: .*nope/);
  });

  it("wraps bytes the app made in a secret", async () => {
    expect(await (await server.get("/from-bytes")).json()).toEqual({ bytes: [0, 109, 97, 100, 101, 255] });
  });

  it("never writes a secret to the server's log", async () => {
    await secret("app", "api-key");
    expect(server.logger.lines.join("\n")).not.toContain(SECRET);
  });
});

describe("outpost serve", () => {
  const WASM = watFixture("store-secret-probe");
  const serveArgs = (root: string) => ["serve", root, "--file", join(root, "main.wasm"), "--addr", "127.0.0.1:0", "--admin-addr", "off"];

  it("refuses an unset environment variable with one line naming it, and exit status 1", async () => {
    const root = files({ "fastly.toml": `[local_server.secret_stores]\nvault = [{ key = "api-key", env = "OUTPOST_NOT_SET_ANYWHERE" }]\n`, "main.wasm": WASM });
    const result = await outpost(serveArgs(root));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: ${root}/fastly.toml: local_server.secret_stores.vault[0] (secret "api-key"): the environment variable OUTPOST_NOT_SET_ANYWHERE is not set; set it before starting the server, or use data or file\n`,
    );
  });

  it("refuses a malformed secret store without printing the secret", async () => {
    const root = files({ "fastly.toml": `[local_server.secret_stores]\nvault = [{ key = "api key", data = "${SECRET}" }]\n`, "main.wasm": WASM });
    const result = await outpost(serveArgs(root));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`local_server.secret_stores.vault[0]: the secret name "api key" has characters other than`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it("serves secrets without printing them", async () => {
    const root = files({ "fastly.toml": `[local_server.secret_stores]\nvault = [{ key = "api-key", data = "k3y-for-tests" }]\n`, "main.wasm": WASM });
    const server = await outpostServe([root, "--file", join(root, "main.wasm"), "--admin-addr", "off"]);
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.output()).toMatch(/GET \/ 200/);
      expect(server.output()).not.toContain("k3y-for-tests");
    } finally {
      await server.stop();
    }
  });
});
