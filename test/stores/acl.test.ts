// ACLs: `[local_server.acls]` as the reference emulator reads it (JSON files
// in the shape of the platform's ACL API), longest-prefix lookups for IPv4
// and IPv6, `fastly_acl` as a guest sees it, and a js-compute app that keeps
// out the clients an ACL blocks.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { parseAcls } from "../../runtime/config/acls.ts";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { type Acl, formatIp, lookupAcl, parseCidr, parseIp } from "../../runtime/stores/acl.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

const BLOCKLIST = {
  entries: [
    { op: "create", prefix: "192.0.2.0/24", action: "BLOCK" },
    { op: "create", prefix: "192.0.2.128/25", action: "ALLOW" },
    { op: "create", prefix: "2001:db8::/32", action: "BLOCK" },
    { op: "create", prefix: "2001:db8:1::/48", action: "ALLOW" },
  ],
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "outpost-acl-"));
  writeFileSync(join(dir, "blocklist.json"), JSON.stringify(BLOCKLIST));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Parses `[local_server.acls]` from TOML text, with fastly.toml in the test's directory. */
function acls(toml: string) {
  const warnings: string[] = [];
  const data = parseAcls(parseManifest(toml, "fastly.toml", dir), (message) => warnings.push(message));
  return { data, warnings };
}

/** An ACL from its entries, written to a file and read back. */
function aclOf(entries: unknown[]): { acl: Acl; warnings: string[] } {
  writeFileSync(join(dir, "entries.json"), JSON.stringify({ entries }));
  const { data, warnings } = acls(`[local_server.acls]\nthe_acl = "entries.json"`);
  return { acl: data.the_acl, warnings };
}

function find(acl: Acl, address: string): unknown {
  const json = lookupAcl(acl, parseIp(address)!);
  return json === null ? null : JSON.parse(json);
}

describe("ACL prefixes and lookups", () => {
  it("reads addresses and prefixes, clearing host bits, in the platform's spelling", () => {
    expect(parseIp("::ffff:192.0.2.1")).toEqual(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1]));
    expect(parseIp("1::")).toEqual(Uint8Array.from([0, 1, ...new Array(14).fill(0)]));
    for (const bad of ["1.2.3", "1.2.3.256", "::1::", "fe80::1%eth0", "host", ""]) expect(parseIp(bad), bad).toBeNull();
    expect(formatIp(parseIp("2001:db8:0:0:1:0:0:1")!)).toBe("2001:db8::1:0:0:1");
    expect(formatIp(parseIp("2001:0:0:1:0:0:0:1")!)).toBe("2001:0:0:1::1");
    expect(formatIp(parseIp("1:0:2:3:4:5:6:7")!)).toBe("1:0:2:3:4:5:6:7");
    expect(formatIp(parseIp("::")!)).toBe("::");

    const cases: [string, string, boolean][] = [
      ["255.255.255.255/32", "255.255.255.255/32", false],
      ["255.255.255.255/8", "255.0.0.0/8", true],
      ["2002::1234:abcd:ffff:c0a8:101/64", "2002:0:0:1234::/64", true],
      ["FACE::/16", "face::/16", false],
      ["0.0.0.0/0", "0.0.0.0/0", false],
      ["10.1.2.3/0", "0.0.0.0/0", true],
      ["::/0", "::/0", false],
    ];
    for (const [text, normalized, hostBits] of cases) expect(parseCidr(text), text).toMatchObject({ text: normalized, hostBits });
    for (const [text, problem] of [
      ["1.2.3.4", /no prefix length/],
      ["1.2.3.4/33", /from 0 to 32/],
      ["200::/129", /from 0 to 128/],
      ["200::/none", /"none" is not a whole number/],
      ["1.2.3.4/-1", /from 0 to 32/],
      ["1.2.3.four/16", /"1.2.3.four" is not an IPv4 or IPv6 address/],
      ["200::end/32", /not an IPv4 or IPv6 address/],
    ] as const) {
      expect(parseCidr(text), text).toMatch(problem);
    }
  });

  it("answers the longest prefix holding an address, for IPv4 and IPv6", () => {
    const { acl } = aclOf([
      ...BLOCKLIST.entries,
      { prefix: "192.0.2.130/32", action: "BLOCK" },
      { prefix: "0.0.0.0/0", action: "ALLOW" },
    ]);
    expect(find(acl, "192.0.2.7")).toEqual({ action: "BLOCK", prefix: "192.0.2.0/24" });
    expect(find(acl, "192.0.2.200")).toEqual({ action: "ALLOW", prefix: "192.0.2.128/25" });
    expect(find(acl, "192.0.2.130")).toEqual({ action: "BLOCK", prefix: "192.0.2.130/32" });
    expect(find(acl, "198.51.100.1")).toEqual({ action: "ALLOW", prefix: "0.0.0.0/0" });
    expect(find(acl, "2001:db8:ffff::1")).toEqual({ action: "BLOCK", prefix: "2001:db8::/32" });
    expect(find(acl, "2001:db8:1:2::1")).toEqual({ action: "ALLOW", prefix: "2001:db8:1::/48" });
    // IPv4 prefixes never hold an IPv6 address, nor IPv6 ones an IPv4 address...
    expect(find(acl, "2001:db9::1")).toBeNull();
    expect(find(aclOf([{ prefix: "::/0", action: "BLOCK" }]).acl, "192.0.2.1")).toBeNull();
    // ...but an IPv4-mapped IPv6 address is the IPv4 address it carries.
    expect(find(acl, "::ffff:192.0.2.7")).toEqual({ action: "BLOCK", prefix: "192.0.2.0/24" });
    expect(find(acl, "::ffff:192.0.2.200")).toEqual({ action: "ALLOW", prefix: "192.0.2.128/25" });
  });

  it("weighs IPv4 prefixes against IPv6 ones for an IPv4-mapped address by the span they cover", () => {
    const { acl } = aclOf([
      { prefix: "::ffff:0:0/96", action: "BLOCK" },
      { prefix: "::ffff:192.0.2.0/120", action: "ALLOW" },
      { prefix: "192.0.0.0/8", action: "BLOCK" },
    ]);
    // /120 in IPv6 is /24 in IPv4: longer than the IPv4 /8.
    expect(find(acl, "::ffff:192.0.2.1")).toEqual({ action: "ALLOW", prefix: "::ffff:c000:200/120" });
    // The IPv4 /8 (an IPv6 /104) beats the IPv6 /96.
    expect(find(acl, "::ffff:192.9.9.9")).toEqual({ action: "BLOCK", prefix: "192.0.0.0/8" });
    expect(find(acl, "::ffff:10.0.0.1")).toEqual({ action: "BLOCK", prefix: "::ffff:0:0/96" });
    // A plain IPv4 address only meets IPv4 prefixes.
    expect(find(acl, "10.0.0.1")).toBeNull();
  });
});

describe("[local_server.acls]", () => {
  it("reads each ACL's JSON file, relative to fastly.toml, in either form", () => {
    const { data, warnings } = acls(`[local_server.acls]\nplain = "blocklist.json"\ntable = { file = "${join(dir, "blocklist.json")}" }`);
    expect(Object.keys(data)).toEqual(["plain", "table"]);
    expect(find(data.plain, "192.0.2.1")).toEqual({ action: "BLOCK", prefix: "192.0.2.0/24" });
    expect(find(data.table, "2001:db8:1::1")).toEqual({ action: "ALLOW", prefix: "2001:db8:1::/48" });
    expect(warnings).toEqual([]);
    expect(acls("").data).toEqual({});
  });

  it("applies entries in order, as a batch update: later entries win, deletes remove", () => {
    const { acl, warnings } = aclOf([
      { op: "create", prefix: "198.51.100.0/24", action: "block" },
      { op: "update", prefix: "198.51.100.0/24", action: "Allow" },
      { prefix: "203.0.113.0/24", action: "BLOCK" },
      { op: "DELETE", prefix: "203.0.113.0/24" },
      { op: "create", prefix: "192.0.2.0/24", action: "BLOCK" },
      { op: "create", prefix: "192.0.2.9/24", action: "ALLOW" },
      { op: "delete", prefix: "10.0.0.0/8" },
    ]);
    expect(find(acl, "198.51.100.1")).toEqual({ action: "ALLOW", prefix: "198.51.100.0/24" });
    expect(find(acl, "203.0.113.1")).toBeNull();
    expect(find(acl, "192.0.2.1")).toEqual({ action: "ALLOW", prefix: "192.0.2.0/24" });
    expect(warnings).toEqual([
      expect.stringMatching(/entries\[5\] \("192\.0\.2\.9\/24"\) has bits set past its prefix length: read as 192\.0\.2\.0\/24/),
      expect.stringMatching(/entries\[5\] \("192\.0\.2\.9\/24"\) creates 192\.0\.2\.0\/24 again \(entries\[4\] did\): the later entry wins/),
      expect.stringMatching(/entries\[6\] \("10\.0\.0\.0\/8"\) deletes 10\.0\.0\.0\/8, which no earlier entry adds: ignored/),
    ]);
  });

  it("accepts a saved listing from the platform's API (entries and meta)", () => {
    writeFileSync(join(dir, "listing.json"), JSON.stringify({ entries: [{ prefix: "192.0.2.0/24", action: "BLOCK" }], meta: { limit: 100, next_cursor: "" } }));
    expect(find(acls(`[local_server.acls]\nlisted = "listing.json"`).data.listed, "192.0.2.3")).toEqual({ action: "BLOCK", prefix: "192.0.2.0/24" });
  });

  it("stops at a mistake with the ACL, the file, the entry and the fix", () => {
    writeFileSync(join(dir, "broken.json"), `{"entries": [{"prefix": "192.0.2.0/24", "action": "BLOCK"},]}`);
    writeFileSync(join(dir, "array.json"), `[{"prefix": "192.0.2.0/24", "action": "BLOCK"}]`);
    const cases: [string | unknown[], RegExp][] = [
      [`bad = 1`, /local_server\.acls\.bad must name its JSON file: ACL = "acl\.json" or ACL = \{ file = "acl\.json" \}/],
      [`bad = { other = true }`, /local_server\.acls\.bad: unknown key "other"/],
      [`bad = { fiel = "x.json" }`, /unknown key "fiel" \(did you mean "file"\?\)/],
      [`bad = "no-such.json"`, /local_server\.acls\.bad \("no-such\.json"\): cannot read .*no-such\.json: no such file; relative paths start at the directory of fastly\.toml/],
      [`bad = "broken.json"`, /local_server\.acls\.bad \("broken\.json"\) is not valid JSON/],
      [`bad = "array.json"`, /must hold a JSON object such as \{"entries": \[/],
      [[{ prefix: "192.0.2.0/24", action: "BLOCK" }, { prefix: "192.0.2.300/24", action: "BLOCK" }], /entries\[1\]: prefix "192\.0\.2\.300\/24": "192\.0\.2\.300" is not an IPv4 or IPv6 address/],
      [[{ prefix: "192.0.2.0/33", action: "BLOCK" }], /entries\[0\]: prefix "192\.0\.2\.0\/33": the prefix length "33" is not a whole number from 0 to 32/],
      [[{ prefix: "192.0.2.0", action: "BLOCK" }], /entries\[0\]: prefix "192\.0\.2\.0": no prefix length: write it as address\/length/],
      [[{ action: "BLOCK" }], /entries\[0\]: missing "prefix"/],
      [[{ prefix: "192.0.2.0/24" }], /entries\[0\] \("192\.0\.2\.0\/24"\): missing "action" \("ALLOW" or "BLOCK"\)/],
      [[{ prefix: "192.0.2.0/24", action: "DENY" }], /entries\[0\] \("192\.0\.2\.0\/24"\): the action must be "ALLOW" or "BLOCK", got "DENY"/],
      [[{ op: "insert", prefix: "192.0.2.0/24", action: "BLOCK" }], /entries\[0\] \("192\.0\.2\.0\/24"\): unknown op "insert"/],
      [[{ op: "craete", prefix: "192.0.2.0/24", action: "BLOCK" }], /unknown op "craete" \(did you mean "create"\?\)/],
      [[{ prefix: "192.0.2.0/24", acton: "BLOCK" }], /entries\[0\]: unknown key "acton" \(did you mean "action"\?\)/],
      [["192.0.2.0/24"], /entries\[0\] must be an object/],
    ];
    for (const [input, message] of cases) {
      const run = () => (typeof input === "string" ? acls(`[local_server.acls]\n${input}`) : aclOf(input));
      expect(run, JSON.stringify(input)).toThrow(ConfigError);
      expect(run, JSON.stringify(input)).toThrow(message);
    }
    expect(() => acls(`[local_server]\nacls = "blocklist.json"`)).toThrow(/\[local_server\.acls\] must be a table of ACLs/);
  });

  it("refuses to start a server with a broken ACL, and says which", async () => {
    writeFileSync(join(dir, "bad-entry.json"), JSON.stringify({ entries: [{ prefix: "10.0.0.0/8", action: "BLOCK" }, { prefix: "10.0.0.0/40", action: "BLOCK" }] }));
    await expect(serve(watFixture("acl-probe"), { manifest: `[local_server.acls]\nbad_acl = "${join(dir, "bad-entry.json")}"` })).rejects.toThrow(
      /local_server\.acls\.bad_acl \(".*bad-entry\.json"\): entries\[1\]: prefix "10\.0\.0\.0\/40": the prefix length "40" is not a whole number from 0 to 32/,
    );
  });
});

describe("fastly_acl", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("acl-probe"), { manifest: `[local_server.acls]\nblocklist = "${join(dir, "blocklist.json")}"` });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("opens ACLs by name and answers matches as JSON bodies, misses as no_content", async () => {
    const r = await Results.of(await server.get("/"));
    expect(r.u32()).toBe(Status.NONE); // open("nope")
    expect(r.u32()).toBe(Status.OK); // open("blocklist")
    const match = (action: string, prefix: string) => {
      expect(r.u32()).toBe(Status.OK);
      expect(r.u32()).toBe(1); // acl_error ok
      expect(JSON.parse(r.text())).toEqual({ action, prefix });
    };
    match("BLOCK", "192.0.2.0/24");
    match("ALLOW", "192.0.2.128/25");
    match("ALLOW", "192.0.2.128/25"); // ::ffff:192.0.2.200
    match("ALLOW", "2001:db8:1::/48");
    match("BLOCK", "2001:db8::/32");
    expect(r.u32()).toBe(Status.OK);
    expect(r.u32()).toBe(2); // acl_error no_content
    expect(r.u32()).toBe(77); // no body handle written
    expect(r.u32()).toBe(Status.INVAL); // a 5-octet address
    expect(r.u32()).toBe(Status.BADF); // an unknown ACL handle
    expect(r.u32()).toBe(Status.INVAL); // acl_error_out outside memory
    expect(r.remaining).toBe(0);
  });
});

describe.runIf(toolchain("js-compute"))("a js-compute app guarded by an ACL", () => {
  let server: TestServer;
  beforeAll(async () => {
    const wasm = await jsCompute("test/fixtures/js/acl-app.js");
    server = await serve(wasm, { manifest: `[local_server.acls]\nblocklist = { file = "${join(dir, "blocklist.json")}" }`, clientIpHeader: true });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const from = (address: string) => server.get("/", { headers: { "x-outpost-client-ip": address } });

  it("blocks clients in a BLOCK range, and lets in those in a more specific ALLOW range inside it", async () => {
    const blocked = await from("192.0.2.10");
    expect(blocked.status).toBe(403);
    expect(await blocked.text()).toBe("blocked: 192.0.2.10 is in 192.0.2.0/24\n");
    const allowed = await from("192.0.2.130");
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe("welcome: 192.0.2.130 is allowed by 192.0.2.128/25\n");
    const elsewhere = await from("198.51.100.7");
    expect(await elsewhere.text()).toBe("welcome: 198.51.100.7\n");

    expect((await from("2001:db8:ab::1")).status).toBe(403);
    expect(await (await from("2001:db8:1::1")).text()).toBe("welcome: 2001:db8:1::1 is allowed by 2001:db8:1::/48\n");
  });

  it("looks up any address the app names, and reports an ACL it cannot open", async () => {
    const lookup = async (ip: string) => (await server.get(`/lookup?ip=${encodeURIComponent(ip)}`)).json();
    expect(await lookup("::ffff:192.0.2.1")).toEqual({ action: "BLOCK", prefix: "192.0.2.0/24" });
    expect(await lookup("203.0.113.1")).toBeNull();
    const missing = await server.get("/open?name=nope");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/nope/);
    expect(await (await server.get("/open?name=blocklist")).text()).toBe("opened");
  });
});
