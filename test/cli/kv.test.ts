// `outpost kv` as a real process: against a running `outpost serve` (through
// its admin API) and on the state directory of a stopped one; what the guest
// wrote is what the command reads, and the other way round.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outpost, outpostServe, type RunningCli } from "../helpers/cli.ts";
import { watFixture } from "../helpers/wat.ts";
import { KvScript } from "../stores/kv-script.ts";

/** The admin API's URL, from what `outpost serve` printed. */
function adminUrl(server: RunningCli): string {
  const match = /admin API .* at (http:\/\/\S+)/.exec(server.output());
  if (!match) throw new Error(`no admin API line in:\n${server.output()}`);
  return match[1];
}

/** A loopback port nothing listens on. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether anything listens on the default admin address (another server would answer `outpost kv` there). */
function defaultAdminTaken(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(7677, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("outpost kv", () => {
  let dir: string;
  let server: RunningCli | null = null;
  let admin: string;
  const serveArgs = () => [dir, "--admin-addr", "127.0.0.1:0", "--admin-token", "secret", "--quiet"];
  const kv = (args: string[], where: string[] = ["--admin", admin, "--token", "secret"]) => outpost(["kv", ...args, ...where], { cwd: dir });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "outpost-kv-cli-"));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin/main.wasm"), watFixture("kv-script"));
    writeFileSync(join(dir, "fastly.toml"), `[local_server.kv_stores]\nstore = [{ key = "seeded", data = "from fastly.toml", metadata = "m" }]\nempty = []\n`);
    server = await outpostServe(serveArgs());
    admin = adminUrl(server);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads, writes, lists and deletes on a running server", async () => {
    const put = await kv(["put", "store", "notes/today", "hello", "--metadata", "txt"]);
    expect([put.code, put.stderr]).toEqual([0, "wrote store/notes/today (5 bytes, generation 1)\n"]);
    const [stores, seeded] = await Promise.all([kv(["stores"]), kv(["get", "store", "seeded", "--json"])]);
    expect(stores.stdout).toBe("empty\nstore\n");
    expect(JSON.parse(seeded.stdout)).toEqual({ key: "seeded", generation: 1, value: "from fastly.toml", metadata: "m" });

    // The guest sees what the command wrote, and the command what the guest wrote.
    const s = new KvScript();
    s.open("store", 0);
    s.lookup(0, "notes/today", 1);
    const seen = s.lookupWait(1);
    s.insert(0, "from-guest", "guest value", 2);
    s.insertWait(2);
    expect((await s.run(server!))[seen]).toMatchObject({ text: "hello", metadata: "txt" });
    const [fromGuest, listed, stale] = await Promise.all([
      kv(["get", "store", "from-guest"]),
      kv(["list", "store", "--prefix", "notes/", "--json"]),
      kv(["put", "store", "notes/today", "again", "--if-generation-match", "7"]),
    ]);
    expect(fromGuest.stdout).toBe("guest value");
    expect(listed.stdout).toBe('["notes/today"]\n');
    expect([stale.code, stale.stderr]).toEqual([1, 'error: "notes/today" is not at that generation\n']);

    expect((await kv(["delete", "store", "notes/today"])).code).toBe(0);
    const missing = await kv(["get", "store", "notes/today"]);
    expect([missing.code, missing.stderr]).toEqual([1, 'error: no key "notes/today" in KV store "store"\n']);
  });

  it("explains unknown stores, invalid keys, a missing token and a server that is not there", async () => {
    const [unknown, badKey, noToken, refused] = await Promise.all([
      kv(["get", "nostore", "k"]),
      kv(["put", "store", "a#b", "v"]),
      outpost(["kv", "list", "store", "--admin", admin], { cwd: dir }),
      outpost(["kv", "list", "store", "--admin", `http://127.0.0.1:${await freePort()}`], { cwd: dir }),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no KV store "nostore" \(stores: empty, store; declare them under \[local_server.kv_stores\]\)/);
    expect([badKey.code, badKey.stderr]).toEqual([1, 'error: invalid key "a#b": a key cannot contain "#"\n']);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/requires a token: pass the server's --admin-token/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no Outpost admin API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): is `outpost serve` running\? .*--state-dir/);
  });

  it("works on a stopped server's state directory, and the restarted server sees its writes", async () => {
    await server!.stop();
    server = null;
    const state = ["--state-dir", join(dir, ".outpost/state")];
    writeFileSync(join(dir, "value.bin"), Buffer.from([1, 2, 3]));
    expect((await kv(["put", "store", "offline", "--file", "value.bin", "--ttl", "3600"], state)).code).toBe(0);
    const [listed, entry, unknown] = await Promise.all([
      kv(["list", "store"], state),
      kv(["get", "store", "offline", "--json"], state),
      kv(["list", "nostore"], state),
    ]);
    expect(listed.stdout).toBe("from-guest\noffline\nseeded\n");
    const json = JSON.parse(entry.stdout);
    expect(json).toMatchObject({ key: "offline", generation: 1, value: "\u0001\u0002\u0003" });
    expect(Date.parse(json.expires_at)).toBeGreaterThan(Date.now());
    expect([unknown.code, unknown.stderr]).toEqual([1, `error: no KV store "nostore" in ${join(dir, ".outpost/state")} (stores: empty, store)\n`]);

    // With neither --admin nor --state-dir, and no server on the default address: the project's state.
    if (!(await defaultAdminTaken())) {
      const local = await kv(["get", "store", "offline"], []);
      expect(local.stdout).toBe("\u0001\u0002\u0003");
      expect(local.stderr).toMatch(/no server at http:\/\/127\.0\.0\.1:7677; using the state directory/);
    }

    server = await outpostServe(serveArgs());
    admin = adminUrl(server);
    expect((await kv(["get", "store", "offline"])).stdout).toBe("\u0001\u0002\u0003");
  });
});
