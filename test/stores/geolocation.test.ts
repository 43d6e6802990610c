// Geolocation and device detection: `[local_server.geolocation]` and
// `[local_server.device_detection]` as the reference emulator reads them,
// `fastly_geo::lookup` / `fastly_device_detection::lookup` as guests see
// them, and X-Outpost-Client-IP, which lets a local test pick the client
// address guests see.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { parseDeviceDetection } from "../../runtime/config/device-detection.ts";
import { parseGeolocation } from "../../runtime/config/geolocation.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { LOOPBACK_GEOLOCATION } from "../../runtime/stores/geolocation.ts";
import { outpostServe } from "../helpers/cli.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

const GERMANY = { as_name: "Example GmbH", city: "Berlin", continent: "EU", country_code: "DE", latitude: 52.52, utc_offset: 100 };

const MANIFEST = `
[local_server.geolocation]
format = "inline-toml"
[local_server.geolocation.addresses."203.0.113.7"]
as_name = "Example GmbH"
city = "Berlin"
continent = "EU"
country_code = "DE"
latitude = 52.52
utc_offset = 100
[local_server.geolocation.addresses."2001:db8::7"]
city = "Toronto"
continent = "NA"
country_code = "CA"

[local_server.device_detection]
format = "inline-toml"
[local_server.device_detection.user_agents."TestPhone/1.0"]
user_agent = {}
device = { name = "TestPhone", brand = "Outpost", hwtype = "Mobile Phone", is_mobile = true, is_desktop = false }
`;

function configOf(toml: string, dir = process.cwd()) {
  const warnings: string[] = [];
  const manifest = parseManifest(toml, "fastly.toml", dir);
  const warn = (message: string) => warnings.push(message);
  return { geo: () => parseGeolocation(manifest, warn), devices: () => parseDeviceDetection(manifest, warn), warnings };
}

describe("[local_server.geolocation] and [local_server.device_detection]", () => {
  it("reads inline tables, keyed by address in one spelling per address", () => {
    const geo = configOf(`
[local_server.geolocation]
format = "inline-toml"
[local_server.geolocation.addresses."0000:0000:0000:0000:0000:0000:0000:0001"]
city = "Six"
[local_server.geolocation.addresses."::ffff:198.51.100.1"]
city = "Mapped"
is_proxy = false
`).geo();
    expect([...geo.addresses.keys()]).toEqual(["::1", "198.51.100.1"]);
    expect(JSON.parse(geo.addresses.get("198.51.100.1")!)).toEqual({ city: "Mapped", is_proxy: false });
    expect(JSON.parse(geo.loopback!)).toEqual(LOOPBACK_GEOLOCATION);
  });

  it("reads JSON files relative to fastly.toml", () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-geo-"));
    try {
      writeFileSync(join(dir, "geo.json"), JSON.stringify({ "192.0.2.9": { city: "Paris", nested: { ok: true } } }));
      writeFileSync(join(dir, "devices.json"), JSON.stringify({ "Bot/2": { device: { is_bot: true } } }));
      const config = configOf(
        `[local_server.geolocation]\nuse_default_loopback = false\nformat = "json"\nfile = "geo.json"\n` +
          `[local_server.device_detection]\nformat = "json"\nfile = "devices.json"\n`,
        dir,
      );
      const geo = config.geo();
      expect(geo.loopback).toBeNull();
      expect(JSON.parse(geo.addresses.get("192.0.2.9")!)).toEqual({ city: "Paris", nested: { ok: true } });
      expect(JSON.parse(config.devices().userAgents.get("Bot/2")!)).toEqual({ device: { is_bot: true } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers loopback addresses by default, and nothing else, with no section", () => {
    const config = configOf("");
    expect(config.geo().addresses.size).toBe(0);
    expect(config.geo().loopback).not.toBeNull();
    expect(config.devices().userAgents.size).toBe(0);
  });

  it("rejects mistakes with the key and the fix", () => {
    const cases: [string, RegExp][] = [
      [`[local_server.geolocation]\nformat = "yaml"`, /geolocation.format must be "inline-toml" or "json"/],
      [`[local_server.geolocation]\nformat = "inline-toml"`, /geolocation.addresses is missing/],
      [`[local_server.geolocation]\nformat = "inline-toml"\n[local_server.geolocation.addresses."300.1.1.1"]\ncity = "x"`, /"300.1.1.1" is not an IPv4 or IPv6 address/],
      [`[local_server.geolocation]\nformat = "inline-toml"\n[local_server.geolocation.addresses."1.2.3.4"]\ncity = ["x"]`, /city must be a string, number or boolean/],
      [`[local_server.geolocation]\nuse_default_loopback = "yes"`, /use_default_loopback must be true or false/],
      [`[local_server.geolocation]\nformat = "json"`, /needs file = /],
      [`[local_server.geolocation]\nformat = "json"\nfile = "no-such-geo.json"`, /cannot read "no-such-geo.json".*no such file/],
      [`[local_server.device_detection]\nformat = "inline-toml"\n[local_server.device_detection.user_agents]\nUA = "flat"`, /must be a table of fields/],
    ];
    for (const [toml, message] of cases) {
      const config = configOf(toml);
      expect(() => (toml.includes("device_detection") ? config.devices() : config.geo()), toml).toThrow(ConfigError);
      expect(() => (toml.includes("device_detection") ? config.devices() : config.geo()), toml).toThrow(message);
    }
  });

  it("warns of entries it ignores: no format, unknown keys", () => {
    const config = configOf(`[local_server.geolocation]\nuse_default_loopbak = false\n[local_server.geolocation.addresses."1.2.3.4"]\ncity = "x"`);
    expect(config.geo().addresses.size).toBe(0);
    expect(config.warnings.join("\n")).toMatch(/unknown key "use_default_loopbak"/);
    expect(config.warnings.join("\n")).toMatch(/no format given, so its entries are ignored/);
  });
});

describe("fastly_geo and fastly_device_detection", () => {
  let server: TestServer;
  let plain: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("geo-device-lookup"), { manifest: MANIFEST, clientIpHeader: true });
    plain = await serve(watFixture("geo-device-lookup"), { manifest: MANIFEST });
  });
  afterAll(async () => {
    await server?.close();
    await plain?.close();
  });

  it("answers JSON for known and loopback addresses, none for others, and the ABI's errors", async () => {
    const r = await Results.of(await server.get("/", { headers: { "x-outpost-client-ip": "2001:db8:0:0::7" } }));
    expect(r.u32()).toBe(Status.OK);
    expect(JSON.parse(r.text())).toEqual(LOOPBACK_GEOLOCATION);
    expect(r.u32()).toBe(Status.OK);
    expect(JSON.parse(r.text())).toEqual(LOOPBACK_GEOLOCATION);
    expect(r.u32()).toBe(Status.OK);
    const germany = r.text();
    expect(JSON.parse(germany)).toEqual(GERMANY);
    expect(r.u32()).toBe(Status.OK); // the IPv4-mapped form of the same address
    expect(r.text()).toBe(germany);
    expect(r.u32()).toBe(Status.NONE);
    expect(r.u32()).toBe(Status.INVAL);
    expect(r.u32()).toBe(Status.BUFLEN);
    expect(r.u32()).toBe(Buffer.byteLength(germany));
    // The client address came from X-Outpost-Client-IP.
    expect(r.u32()).toBe(Status.OK);
    expect(JSON.parse(r.text())).toEqual({ city: "Toronto", continent: "NA", country_code: "CA" });

    expect(r.u32()).toBe(Status.OK);
    const phone = r.text();
    expect(JSON.parse(phone)).toEqual({
      user_agent: {},
      device: { name: "TestPhone", brand: "Outpost", hwtype: "Mobile Phone", is_mobile: true, is_desktop: false },
    });
    expect(r.u32()).toBe(Status.NONE);
    expect(r.u32()).toBe(Status.BUFLEN);
    expect(r.u32()).toBe(Buffer.byteLength(phone));
    expect(r.u32()).toBe(Status.INVAL);
    expect(r.remaining).toBe(0);
  });

  it("takes the client address from the connection when the header is not enabled, or names no address", async () => {
    for (const [target, header] of [
      [plain, "203.0.113.7"],
      [server, "not-an-address"],
    ] as const) {
      const geo = await clientGeo(await target.get("/", { headers: { "x-outpost-client-ip": header } }));
      // 127.0.0.1, the test client's real address: the built-in loopback data.
      expect(JSON.parse(geo)).toEqual(LOOPBACK_GEOLOCATION);
    }
  });
});

/** The geolocation the geo-device-lookup guest reports for its client (result 8). */
async function clientGeo(response: Response): Promise<string> {
  const r = await Results.of(response);
  for (let i = 0; i < 4; i++) [r.u32(), r.text()];
  for (let i = 0; i < 4; i++) r.u32();
  expect(r.u32()).toBe(Status.OK);
  return r.text();
}

describe("outpost serve and X-Outpost-Client-IP", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "outpost-geo-cli-"));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin/main.wasm"), watFixture("geo-device-lookup"));
    writeFileSync(join(dir, "fastly.toml"), `manifest_version = 3\nname = "geo"\n${MANIFEST}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("honours the header by default, and not with --no-client-ip-header", async () => {
    const headers = { "x-outpost-client-ip": "203.0.113.7" };
    const on = await outpostServe([dir, "--admin-addr", "off"]);
    try {
      expect(JSON.parse(await clientGeo(await fetch(on.url, { headers })))).toEqual(GERMANY);
    } finally {
      await on.stop();
    }
    const off = await outpostServe([dir, "--admin-addr", "off", "--no-client-ip-header"]);
    try {
      expect(JSON.parse(await clientGeo(await fetch(off.url, { headers })))).toEqual(LOOPBACK_GEOLOCATION);
    } finally {
      await off.stop();
    }
  });
});

describe.runIf(toolchain("js-compute"))("a geo-routing js-compute app", () => {
  let server: TestServer;
  let us: Origin;
  let eu: Origin;
  beforeAll(async () => {
    // Answers for one place only: not for the readthrough cache, whose key does not include the backend.
    us = await startOrigin((_req, res) => void res.writeHead(200, { "cache-control": "private" }).end("from us\n"));
    eu = await startOrigin((_req, res) => void res.writeHead(200, { "cache-control": "private" }).end("from eu\n"));
    const wasm = await jsCompute("test/fixtures/js/geo-router.js");
    server = await serve(wasm, { manifest: MANIFEST, backends: { us: us.url, eu: eu.url }, clientIpHeader: true });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await us?.close();
    await eu?.close();
  });

  it("sends clients at two configured addresses to two different backends", async () => {
    const berlin = await server.get("/page", { headers: { "x-outpost-client-ip": "203.0.113.7" } });
    expect(await berlin.text()).toBe("from eu\n");
    const toronto = await server.get("/page", { headers: { "x-outpost-client-ip": "2001:db8::7" } });
    expect(await toronto.text()).toBe("from us\n");
    // The header is the host's: neither the guest nor the origin it forwards headers to sees it.
    expect(eu.requests[0].url).toBe("/page");
    expect(eu.requests[0].headers["x-outpost-client-ip"]).toBeUndefined();
    expect(us.requests[0].headers["x-outpost-client-ip"]).toBeUndefined();
  });

  it("shows the guest the address, and its geolocation through event.client.geo and getGeolocationForIpAddress", async () => {
    const answer = await (await server.get("/whoami", { headers: { "x-outpost-client-ip": "203.0.113.7" } })).json();
    expect(answer.address).toBe("203.0.113.7");
    expect(answer.sawHeader).toBe(false);
    expect(answer.geo).toMatchObject(GERMANY);
    expect(answer.lookup).toMatchObject(GERMANY);

    const nowhere = await (await server.get("/whoami", { headers: { "x-outpost-client-ip": "192.0.2.200" } })).json();
    expect(nowhere).toMatchObject({ address: "192.0.2.200", geo: null, lookup: null });

    const local = await (await server.get("/whoami")).json();
    expect(local.geo).toMatchObject({ city: "San Francisco", country_code: "US" });
  });

  it("detects the device from the User-Agent", async () => {
    const phone = await (await server.get("/device", { headers: { "user-agent": "TestPhone/1.0" } })).json();
    expect(phone).toEqual({ name: "TestPhone", brand: "Outpost", hardwareType: "Mobile Phone", isMobile: true, isDesktop: false });
    const unknown = await (await server.get("/device", { headers: { "user-agent": "curl/8.0" } })).json();
    expect(unknown).toBeNull();
  });
});
