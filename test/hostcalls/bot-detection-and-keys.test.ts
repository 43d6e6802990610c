// Local testing of bot handling (`downstream_bot_*` from X-Fastly-Bot-*
// request fields, as the reference emulator reads them) and of Fastly-Key
// checks (`fastly_key_is_valid` against `[local_server]
// fake_valid_fastly_keys`), with a js-compute guest and a raw-ABI one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { parseFakeFastlyKeys } from "../../runtime/config/fake-fastly-keys.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

describe.skipIf(!toolchain("js-compute"))("bot detection in local testing (event.request.bot*)", () => {
  let testing: TestServer;
  let facing: TestServer;

  beforeAll(async () => {
    const wasm = await jsCompute("test/fixtures/js/bot-info.js");
    testing = await serve(wasm, { clientIpHeader: true });
    facing = await serve(wasm, { clientIpHeader: false });
  });
  afterAll(async () => {
    await testing?.close();
    await facing?.close();
  });

  const ask = async (server: TestServer, headers: Record<string, string>) => (await server.get("/", { headers })).json();
  const GOOGLEBOT = {
    "x-fastly-bot-analyzed": "true",
    "x-fastly-bot-detected": "true",
    "x-fastly-bot-name": "GoogleBot",
    "x-fastly-bot-category": "search-engine-crawler",
    "x-fastly-bot-verified": "true",
  };
  const NOTHING = { analyzed: false, detected: false, name: null, category: null, verified: false };

  it("says nothing was analyzed for a request without the fields", async () => {
    expect(await ask(testing, {})).toEqual(NOTHING);
  });

  it("answers what the X-Fastly-Bot-* fields say, the category by name or number", async () => {
    expect(await ask(testing, GOOGLEBOT)).toEqual({ analyzed: true, detected: true, name: "GoogleBot", category: "search-engine-crawler", verified: true });
    expect(await ask(testing, { "x-fastly-bot-analyzed": "true", "x-fastly-bot-category": "3" })).toMatchObject({ analyzed: true, detected: false, category: "ai-crawler" });
  });

  it("ignores the fields on a server that faces real clients (--no-client-ip-header)", async () => {
    expect(await ask(facing, GOOGLEBOT)).toEqual(NOTHING);
  });
});

describe("fastly_key_is_valid", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("fastly-key-probe"), { manifest: `[local_server]\nfake_valid_fastly_keys = ["good-key", "other"]\n` });
  });
  afterAll(() => server?.close());

  const valid = async (headers: Record<string, string>) => {
    const body = Buffer.from(await (await server.get("/", { headers })).arrayBuffer());
    expect(body.readUInt32LE(0)).toBe(Status.OK);
    return body.readUInt32LE(4);
  };

  it("accepts a Fastly-Key from the manifest's list, and nothing else", async () => {
    expect(await valid({ "fastly-key": "good-key" })).toBe(1);
    expect(await valid({ "fastly-key": "bad-key" })).toBe(0);
    expect(await valid({})).toBe(0);
  });

  it("refuses a list that is not one of keys", () => {
    const keys = (toml: string) => parseFakeFastlyKeys(parseManifest(`[local_server]\n${toml}`, "/app/fastly.toml", "/app"));
    expect(keys(`fake_valid_fastly_keys = ["a"]`)).toEqual(["a"]);
    expect(() => keys(`fake_valid_fastly_keys = "a"`)).toThrow(/fake_valid_fastly_keys: expected an array of keys/);
    expect(() => keys(`fake_valid_fastly_keys = [1]`)).toThrow(/expected an array of keys/);
  });
});
