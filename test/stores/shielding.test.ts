// Shielding (`fastly_shielding`): shields from [local_server.shielding_sites],
// seen by a js-compute guest through fastly:shielding and by a raw-ABI WAT
// guest, with a real loopback server standing in for the other shield POP;
// and the section's errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { parseShieldingSites } from "../../runtime/config/shielding-sites.ts";
import { encodeShieldInfo } from "../../runtime/stores/shielding.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";
import { Status } from "../../runtime/abi/status.ts";

const sites = (toml: string) => parseShieldingSites(parseManifest(`[local_server.shielding_sites]\n${toml}`, "/app/fastly.toml", "/app"));

describe("[local_server.shielding_sites]", () => {
  it("reads local shields and shields at two URLs, as shield_info encodes them", () => {
    const parsed = sites(`here = "local"\nthere = { unencrypted = "http://127.0.0.1:8081", encrypted = "https://127.0.0.1:8443" }`);
    expect(parsed).toEqual({
      here: { runningOn: true, unencrypted: "", encrypted: "" },
      there: { runningOn: false, unencrypted: "http://127.0.0.1:8081", encrypted: "https://127.0.0.1:8443" },
    });
    expect([...encodeShieldInfo(parsed.here)]).toEqual([1, 0, 0]);
    expect(Buffer.from(encodeShieldInfo(parsed.there)).toString("latin1")).toBe("\0http://127.0.0.1:8081\0https://127.0.0.1:8443\0");
  });

  it.each([
    [`a = "remote"`, /local_server\.shielding_sites\.a: a shield is "local" or \{ unencrypted = .*, got "remote"/],
    [`a = { unencrypted = "http://127.0.0.1:1" }`, /local_server\.shielding_sites\.a\.encrypted: missing/],
    [`a = { unencrypted = "http://x", encrypted = "https://y", plain = "z" }`, /local_server\.shielding_sites\.a: unknown key "plain"/],
    [`a = { unencrypted = "https://x", encrypted = "https://y" }`, /a\.unencrypted: expected a http URL, got "https:\/\/x"/],
    [`a = { unencrypted = "http://x", encrypted = "not a url" }`, /a\.encrypted: "not a url" is not a URL/],
    [`a = 3`, /a shield is "local" or .*, got 3/],
  ])("refuses %s with a clear message", (toml, message) => {
    expect(() => sites(toml)).toThrow(message);
  });
});

describe.skipIf(!toolchain("js-compute"))("a js-compute guest using fastly:shielding", () => {
  let shieldPop: Origin;
  let server: TestServer & { manifestText: string };

  beforeAll(async () => {
    shieldPop = await startOrigin(async (req, res) => {
      if (req.url === "/slow") await new Promise((resolve) => setTimeout(resolve, 1_000));
      res.setHeader("cache-control", "no-store");
      res.end(`shield POP got ${req.url} for ${req.headers.host}\n`);
    });
    const manifest = `[local_server.shielding_sites]
here = "local"
there = { unencrypted = "${shieldPop.url}", encrypted = "https://127.0.0.1:1" }
`;
    server = Object.assign(await serve(await jsCompute("test/fixtures/js/shielding.js"), { manifest }), { manifestText: manifest });
  });
  afterAll(async () => {
    await server?.close();
    await shieldPop?.close();
  });

  it("answers raw ABI calls with the ABI's conventions, and a shield backend keeps its first-byte timeout", async () => {
    const probe = await serve(watFixture("shield-probe"), { manifest: server.manifestText });
    try {
      const body = Buffer.from(await (await probe.get("/", { headers: { "x-target": shieldPop.url } })).arrayBuffer());
      const u32 = (i: number) => body.readUInt32LE(i * 4);
      const info = `\0${shieldPop.url}\0https://127.0.0.1:1\0`;
      const name = `shield:${shieldPop.url}`;
      expect([u32(0), u32(1)]).toEqual([Status.BUFLEN, info.length]);
      expect(u32(2)).toBe(Status.INVAL);
      expect([u32(3), u32(4)]).toEqual([Status.OK, info.length]);
      expect(u32(5)).toBe(Status.INVAL);
      expect([u32(6), u32(7)]).toEqual([Status.BUFLEN, name.length]);
      expect([u32(8), u32(9)]).toEqual([Status.OK, name.length]);
      // The origin answers /slow after 1 s; the backend's 200 ms first-byte timeout ends the send first.
      expect(u32(10)).toBe(Status.ERROR);
      expect(shieldPop.requests.some((r) => r.url === "/slow")).toBe(true);
      expect(body.subarray(44).toString("latin1")).toBe(info + name);
    } finally {
      await probe.close();
    }
  });

  it("knows when it runs on the shield", async () => {
    expect(await (await server.get("/?shield=here")).text()).toBe("running on the shield\n");
  });

  it("sends through the other shield's backend", async () => {
    const response = await server.get("/page?shield=there");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`via shield:${shieldPop.url}: shield POP got /page for shield.test\n`);
    // Asked twice in one request, or by another request: the same backend, no error.
    expect((await server.get("/again?shield=there")).status).toBe(200);
  });

  it("refuses a shield that is not configured", async () => {
    const response = await server.get("/?shield=elsewhere");
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/^no such shield/);
  });
});
