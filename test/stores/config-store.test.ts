// Config stores and dictionaries: what fastly.toml may say and the errors
// for what it may not, the exact statuses guests get, a js-compute app that
// sees a JSON store's new contents without a restart, and a request that
// keeps the contents it started with while the file changes under it.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { parseConfigStores } from "../../runtime/config/config-stores.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { watchConfigStores } from "../../runtime/stores/config-watch.ts";
import { outpost, outpostServe } from "../helpers/cli.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

const Status = { OK: 0, INVAL: 2, BADF: 3, BUFLEN: 4, NONE: 10 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "outpost-config-store-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files under a fresh directory of `dir`; returns that directory. */
function files(entries: Record<string, string>): string {
  const root = mkdtempSync(join(dir, "p-"));
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The stores of manifest text read as ROOT/fastly.toml. */
function parse(toml: string, root = "/project") {
  return parseConfigStores(parseManifest(toml, join(root, "fastly.toml"), root));
}

function rejection(toml: string, root = "/project"): string {
  try {
    parse(toml, root);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the stores were accepted");
}

/** Retries `read` until `done` holds (a reload is asynchronous), failing after `ms`. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("[local_server.config_stores] in fastly.toml", () => {
  it("reads inline stores, JSON files next to fastly.toml, and the dictionaries spelling", () => {
    const root = files({ "data/strings.json": JSON.stringify({ hello: "bonjour", "with space": "ok", emoji: "😀" }) });
    const { stores, warnings } = parse(
      `[local_server.config_stores.settings]
format = "inline-toml"
[local_server.config_stores.settings.contents]
ttl = "300"
"a.b" = ""
[local_server.config_stores.strings]
format = "json"
file = "data/strings.json"
[local_server.dictionaries.legacy]
format = "inline-toml"
contents = { mode = "cache" }
`,
      root,
    );
    expect(warnings).toEqual([]);
    expect(Object.fromEntries(stores.map((s) => [s.name, { file: s.file, contents: s.contents }]))).toEqual({
      settings: { file: null, contents: { ttl: "300", "a.b": "" } },
      strings: { file: join(root, "data/strings.json"), contents: { hello: "bonjour", "with space": "ok", emoji: "😀" } },
      legacy: { file: null, contents: { mode: "cache" } },
    });
  });

  it("accepts keys and values right at the platform's limits, counting characters", () => {
    const key = "k".repeat(255) + "é";
    const { stores } = parse(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontents = { "${key}" = "${"😀".repeat(8000)}" }\n`);
    expect(stores[0].contents[key]).toHaveLength(16000); // UTF-16 units: 8000 characters
  });

  it("rejects a missing or unknown format, naming the store and the fix", () => {
    expect(rejection(`[local_server.config_stores.s]\ncontents = { a = "1" }\n`)).toBe(
      `/project/fastly.toml: local_server.config_stores.s: missing "format" (add format = "inline-toml")`,
    );
    expect(rejection(`[local_server.config_stores.s]\nfile = "s.json"\n`)).toContain(`missing "format" (add format = "json")`);
    expect(rejection(`[local_server.config_stores.s]\nformat = "jsn"\nfile = "s.json"\n`)).toBe(
      `/project/fastly.toml: local_server.config_stores.s.format: unknown format "jsn" (did you mean "json"?)`,
    );
    expect(rejection(`[local_server.config_stores.s]\nformat = "yaml"\n`)).toContain(`(expected one of: inline-toml, json)`);
    expect(rejection(`[local_server.dictionaries.d]\nformat = "inline-toml"\nfile = "d.json"\n`)).toContain(
      `local_server.dictionaries.d: "file" is read only with format = "json"`,
    );
    expect(rejection(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontent = {}\n`)).toContain(
      `unknown key "content" (did you mean "contents"?)`,
    );
    expect(rejection(`[local_server.config_stores]\ns = "s.json"\n`)).toContain(`local_server.config_stores.s must be a table`);
  });

  it("rejects values that are not strings, and keys and values past the platform's limits", () => {
    expect(rejection(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontents = { ttl = 300 }\n`)).toBe(
      `/project/fastly.toml: local_server.config_stores.s.contents.ttl must be a string, got 300 (quote it: "300")`,
    );
    const longKey = "k".repeat(257);
    expect(rejection(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontents = { ${longKey} = "v" }\n`)).toMatch(
      /local_server\.config_stores\.s\.contents\."k{40}\.\.\.": the key is 257 characters long; config store keys are limited to 256$/,
    );
    expect(rejection(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontents = { big = "${"x".repeat(8001)}" }\n`)).toBe(
      `/project/fastly.toml: local_server.config_stores.s.contents.big: the value is 8001 characters long; config store values are limited to 8000`,
    );
    expect(rejection(`[local_server.config_stores.s]\nformat = "inline-toml"\ncontents = { "" = "v" }\n`)).toContain(`keys must not be empty`);
  });

  it("rejects JSON files that are missing, malformed or not string to string, naming the file and the key", () => {
    const root = files({
      "bad.json": `{"a": "1",}`,
      "list.json": `["a"]`,
      "nested.json": `{"a": {"b": "c"}}`,
      "long.json": JSON.stringify({ big: "x".repeat(8001) }),
    });
    const store = (file: string) => `[local_server.config_stores.s]\nformat = "json"\nfile = "${file}"\n`;
    expect(rejection(store("missing.json"), root)).toBe(
      `${root}/fastly.toml: local_server.config_stores.s: missing.json (${root}/missing.json): cannot read it: no such file; relative paths start at the directory of fastly.toml`,
    );
    expect(rejection(store("bad.json"), root)).toMatch(/local_server\.config_stores\.s: bad\.json \(.*\/bad\.json\): not valid JSON: /);
    expect(rejection(store("list.json"), root)).toContain(`expected a JSON object of "key": "value" entries, got an array`);
    expect(rejection(store("nested.json"), root)).toContain(`the value of "a" must be a string, got an object`);
    expect(rejection(store("long.json"), root)).toContain(`key "big": the value is 8001 characters long; config store values are limited to 8000`);
    expect(rejection(`[local_server.config_stores.s]\nformat = "json"\n`, root)).toContain(
      `local_server.config_stores.s.file: expected the path of a JSON file (for example file = "s.json"), missing`,
    );
  });

  it("rejects one name in both config_stores and dictionaries", () => {
    const inline = `format = "inline-toml"\ncontents = {}\n`;
    expect(rejection(`[local_server.config_stores.s]\n${inline}[local_server.dictionaries.s]\n${inline}`)).toBe(
      `/project/fastly.toml: local_server.dictionaries.s: a store named "s" is already defined as local_server.config_stores.s; give one of them another name`,
    );
  });

  it("warns, without refusing, when a store has more entries than an account gets by default", () => {
    const root = files({ "big.json": JSON.stringify(Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`k${i}`, "v"]))) });
    const { warnings } = parse(`[local_server.config_stores.big]\nformat = "json"\nfile = "big.json"\n`, root);
    expect(warnings).toEqual([`${root}/fastly.toml: local_server.config_stores.big: 501 entries; Fastly allows 500 per config store unless your account's limit was raised`]);
  });
});

describe("watching store files", () => {
  it("publishes one new version per burst of changes, and none when the contents did not change", async () => {
    const root = files({ "a.json": JSON.stringify({ k: "1" }), "b.json": JSON.stringify({ k: "b" }) });
    const { stores } = parse(
      `[local_server.config_stores.a]\nformat = "json"\nfile = "a.json"\n[local_server.config_stores.b]\nformat = "json"\nfile = "b.json"\n[local_server.config_stores.c]\nformat = "inline-toml"\ncontents = { k = "c" }\n`,
      root,
    );
    const versions: Record<string, Record<string, string>>[] = [];
    const logger = { info: () => {}, warn: (message: string) => versions.push({ warning: { message } }) };
    const watch = watchConfigStores(stores, { logger, update: (data) => versions.push(data), debounceMs: 200 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 400)); // the re-read at start finds nothing new
      writeFileSync(join(root, "a.json"), JSON.stringify({ k: "1" }));
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(versions).toEqual([]);
      for (const k of ["2", "3", "4"]) writeFileSync(join(root, "a.json"), JSON.stringify({ k }));
      await eventually(async () => versions.length, (n) => n > 0);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(versions).toEqual([{ a: { k: "4" }, b: { k: "b" }, c: { k: "c" } }]);
    } finally {
      watch.close();
    }
  });
});

describe("fastly_config_store and fastly_dictionary", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("store-config-probe"), {
      workers: 1,
      manifest: `[local_server.config_stores.settings]\nformat = "inline-toml"\ncontents = { greeting = "hello, world" }\n`,
    });
  });
  afterAll(() => server?.close());

  it("answers badf for unknown stores, none for missing keys, and buflen with the length needed", async () => {
    const r = await Results.of(await server.get("/"));
    expect(r.u32()).toBe(Status.BADF); // open("nope")
    expect(r.u32()).toBe(Status.OK); // open("settings")
    expect(r.u32()).toBe(Status.NONE); // get("absent")
    expect(r.u32()).toBe(Status.BUFLEN); // 4-byte buffer
    expect(r.u32()).toBe(12);
    expect(r.u32()).toBe(0x7e); // buffer untouched
    expect(r.u32()).toBe(Status.OK); // exactly 12 bytes
    expect(r.text()).toBe("hello, world");
    expect(r.u32()).toBe(Status.BADF); // unknown handle
    expect(r.u32()).toBe(Status.INVAL); // key not UTF-8
    expect(r.u32()).toBe(Status.BADF); // dictionary open("nope")
    expect(r.u32()).toBe(Status.OK); // dictionary open("settings")
    expect(r.u32()).toBe(Status.OK);
    expect(r.text()).toBe("hello, world");
    expect(r.u32()).toBe(Status.NONE); // dictionary get("absent")
    expect(r.remaining).toBe(0);
  });
});

describe.runIf(toolchain("js-compute"))("a js-compute app with fastly:config-store", () => {
  let root: string;
  let server: TestServer;
  beforeAll(async () => {
    root = files({ "live.json": JSON.stringify({ color: "blue", size: "large" }) });
    server = await serve(await jsCompute("test/fixtures/js/store-config.js"), {
      manifest: `[local_server.config_stores.settings]
format = "inline-toml"
contents = { greeting = "hello", long = "${"é".repeat(8000)}" }
[local_server.dictionaries.live]
format = "json"
file = ${JSON.stringify(join(root, "live.json"))}
`,
    });
  }, 60_000);
  afterAll(() => server?.close());

  const value = async (store: string, key: string) => {
    const response = await server.get(`/?store=${encodeURIComponent(store)}&key=${encodeURIComponent(key)}`);
    return response.status === 200 ? ((await response.json()) as { value: string | null }).value : `${response.status} ${await response.text()}`;
  };

  it("reads values, null for a missing key, long values in full, and refuses an unknown store", async () => {
    expect(await value("settings", "greeting")).toBe("hello");
    expect(await value("settings", "absent")).toBeNull();
    expect(await value("settings", "long")).toBe("é".repeat(8000));
    expect(await value("live", "color")).toBe("blue");
    expect(await value("nope", "greeting")).toMatch(/^404 .*Error: .*nope/);
  });

  it("answers with a JSON file's new contents after it changes, without a restart", async () => {
    writeFileSync(join(root, "live.json"), JSON.stringify({ color: "green", size: "large" }));
    expect(await eventually(() => value("live", "color"), (v) => v === "green")).toBe("green");
    // An editor's save: a new file renamed over the old one.
    writeFileSync(join(root, "live.json.tmp"), JSON.stringify({ color: "red" }));
    renameSync(join(root, "live.json.tmp"), join(root, "live.json"));
    expect(await eventually(() => value("live", "color"), (v) => v === "red")).toBe("red");
    expect(await value("live", "size")).toBeNull();
    expect(await value("settings", "greeting")).toBe("hello"); // other stores unchanged
    expect(server.logger.lines).toContain(`config store "live" reloaded from ${join(root, "live.json")} (1 entry)`);
  });

  it("keeps the previous contents and warns when the changed file is malformed or breaks a limit", async () => {
    writeFileSync(join(root, "live.json"), JSON.stringify({ color: "purple" }));
    await eventually(() => value("live", "color"), (v) => v === "purple");
    writeFileSync(join(root, "live.json"), `{"color": "orange",`);
    const warning = await eventually(
      async () => server.logger.lines.find((line) => line.startsWith("warning:") && line.includes("not valid JSON")),
      (line) => line !== undefined,
    );
    expect(warning).toContain(`warning: fastly.toml: local_server.dictionaries.live: ${join(root, "live.json")}: not valid JSON:`);
    expect(warning).toContain(`config store "live" keeps its previous contents until the file is fixed`);
    expect(await value("live", "color")).toBe("purple");

    writeFileSync(join(root, "live.json"), JSON.stringify({ color: "x".repeat(8001) }));
    await eventually(
      async () => server.logger.lines.some((line) => line.includes(`key "color": the value is 8001 characters long`)),
      (found) => found,
    );
    expect(await value("live", "color")).toBe("purple");

    writeFileSync(join(root, "live.json"), JSON.stringify({ color: "fixed" }));
    expect(await eventually(() => value("live", "color"), (v) => v === "fixed")).toBe("fixed");
  });
});

/** Reads a streamed response line by line: `next()` is the next line, or null at the end. */
function lines(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return {
    async next(): Promise<string | null> {
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) return null;
        buffered += decoder.decode(value, { stream: true });
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    cancel: () => reader.cancel(),
  };
}

describe("a request running while a store's file changes", () => {
  let root: string;
  let server: TestServer;
  beforeAll(async () => {
    root = files({ "live.json": JSON.stringify({ color: "blue" }) });
    server = await serve(watFixture("store-config-sleep"), {
      workers: 1,
      manifest: `[local_server.config_stores.live]\nformat = "json"\nfile = ${JSON.stringify(join(root, "live.json"))}\n`,
    });
  });
  afterAll(() => server?.close());

  it("keeps the contents it started with; requests that start later see the new ones", async () => {
    const slow = lines(await server.get("/"));
    expect(await slow.next()).toBe("blue"); // the first read happened before the change
    let slowDone = false;
    const rest = (async () => {
      const seen = [await slow.next(), await slow.next(), await slow.next()];
      slowDone = true;
      return seen;
    })();
    rest.catch(() => {}); // awaited below; a failure before then must not go unhandled

    writeFileSync(join(root, "live.json"), JSON.stringify({ color: "green" }));
    // A request that starts after the reload sees the new value (its first line) while the slow one sleeps.
    const fresh = await eventually(
      async () => {
        const request = lines(await server.get("/"));
        const line = await request.next();
        await request.cancel();
        return line;
      },
      (line) => line === "green",
    );
    expect(fresh).toBe("green");
    expect(slowDone).toBe(false);
    expect(await rest).toEqual(["blue", "blue", null]);
  }, 30_000);
});

describe("outpost serve", () => {
  const WASM = watFixture("store-config-probe");

  it("refuses a bad store with one line naming the store and key, and exit status 1", async () => {
    const root = files({
      "fastly.toml": `[local_server.config_stores.settings]\nformat = "inline-toml"\ncontents = { ttl = 300 }\n`,
    });
    writeFileSync(join(root, "main.wasm"), WASM);
    const result = await outpost(["serve", root, "--file", join(root, "main.wasm"), "--addr", "127.0.0.1:0", "--admin-addr", "off"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${root}/fastly.toml: local_server.config_stores.settings.contents.ttl must be a string, got 300 (quote it: "300")\n`);
  });

  it("refuses malformed JSON in a store file", async () => {
    const root = files({ "fastly.toml": `[local_server.dictionaries.d]\nformat = "json"\nfile = "d.json"\n`, "d.json": `{"a": 1}` });
    writeFileSync(join(root, "main.wasm"), WASM);
    const result = await outpost(["serve", root, "--file", join(root, "main.wasm"), "--addr", "127.0.0.1:0", "--admin-addr", "off"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${root}/fastly.toml: local_server.dictionaries.d: d.json (${root}/d.json): the value of "a" must be a string, got a number (1)\n`);
  });

  it("reloads a changed store file in a running server, and warns on stderr about a malformed one", async () => {
    const root = files({
      "fastly.toml": `[local_server.config_stores.settings]\nformat = "json"\nfile = "settings.json"\n`,
      "settings.json": JSON.stringify({ greeting: "hello, world" }),
    });
    writeFileSync(join(root, "main.wasm"), WASM);
    const server = await outpostServe([root, "--file", join(root, "main.wasm"), "--admin-addr", "off"]);
    try {
      const greeting = async () => {
        const r = new Results(new Uint8Array(await (await fetch(server.url)).arrayBuffer()));
        r.u32();
        r.u32();
        r.u32();
        r.u32();
        r.u32();
        r.u32();
        return r.u32() === Status.OK ? r.text() : `buflen ${r.u32()}`;
      };
      expect(await greeting()).toBe("hello, world");
      writeFileSync(join(root, "settings.json"), JSON.stringify({ greeting: "hello, again" }));
      expect(await eventually(greeting, (g) => g === "hello, again")).toBe("hello, again");
      writeFileSync(join(root, "settings.json"), "{");
      await eventually(async () => server.output(), (output) => output.includes("not valid JSON"));
      expect(server.output()).toMatch(/warning: .*settings\.json.*not valid JSON.*keeps its previous contents until the file is fixed/);
      expect(await greeting()).toBe("hello, again");
    } finally {
      await server.stop();
    }
  }, 30_000);
});
