// KV stores kept in the state directory: what guests write survives a restart
// of `outpost serve`, even one by `kill -9` in the middle of a burst of
// writes (every acknowledged write is there, no value is torn), and seeds
// from fastly.toml never overwrite what the app wrote.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KvDatabase } from "../../runtime/stores/kv-database.ts";
import { outpostServe, type RunningCli } from "../helpers/cli.ts";
import { watFixture } from "../helpers/wat.ts";
import { KvError, KvScript, Mode } from "./kv-script.ts";
import { kvServer } from "./kv-server.ts";

const dirs: string[] = [];
const running: RunningCli[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "outpost-kv-state-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const cli of running) if (cli.child.exitCode === null && cli.child.signalCode === null) await cli.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A value whose every byte depends on its key and position: a torn or mixed value cannot pass for it. */
function valueFor(key: string, length = 48 * 1024): string {
  let out = "";
  let i = 0;
  while (out.length < length) out += `${key}:${i++};`;
  return out.slice(0, length);
}

describe("a restart", () => {
  it("keeps what the app wrote and seeds only what the state lacks", async () => {
    const stateDir = tempDir();
    const wasm = watFixture("kv-script");
    const manifest = (seed: string) => `[local_server.kv_stores]\nstore = [{ key = "seeded", data = "${seed}" }, { key = "overwritten", data = "${seed}" }, { key = "deleted", data = "${seed}" }]\n`;

    let server = await kvServer(wasm, { manifest: manifest("v1"), stateDir });
    const write = new KvScript();
    write.open("store", 0);
    write.insert(0, "overwritten", "by the app", 1, { metadata: "app metadata" });
    write.insertWait(1);
    write.insert(0, "mine", "app key", 2, { mode: Mode.ADD });
    write.insertWait(2);
    write.delete(0, "deleted", 3);
    write.deleteWait(3);
    await write.run(server);
    await server.close();

    server = await kvServer(wasm, { manifest: manifest("v2"), stateDir });
    try {
      const read = new KvScript();
      read.open("store", 0);
      const lookups = ["seeded", "overwritten", "mine", "deleted"].map((key, i) => {
        read.lookup(0, key, i + 1);
        return read.lookupWait(i + 1);
      });
      const out = await read.run(server);
      const [seeded, overwritten, mine, deleted] = lookups.map((index) => out[index]);
      expect(seeded).toMatchObject({ kvError: KvError.OK, text: "v2", generation: 2n }); // untouched by the app: follows fastly.toml
      expect(overwritten).toMatchObject({ kvError: KvError.OK, text: "by the app", metadata: "app metadata", generation: 2n });
      expect(mine).toMatchObject({ kvError: KvError.OK, text: "app key", generation: 1n });
      expect(deleted.kvError).toBe(KvError.NOT_FOUND);
      expect(server.logger.lines.some((line) => line.includes("kv: 1 store kept in") && line.includes("(1 seeded, 2 kept as the app left them)"))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("after kill -9 in a burst of writes, finds every acknowledged write whole", async () => {
    const project = tempDir();
    mkdirSync(join(project, "bin"));
    writeFileSync(join(project, "bin/main.wasm"), watFixture("kv-script"));
    writeFileSync(join(project, "fastly.toml"), `[local_server.kv_stores]\nburst = []\n`);
    const args = [project, "--admin-addr", "off", "--quiet", "--workers", "2"];
    const first = await outpostServe(args);
    running.push(first);

    const acknowledged: string[] = [];
    const attempted: string[] = [];
    let killed = false;
    const write = async (key: string) => {
      const s = new KvScript();
      s.open("burst", 0);
      s.insert(0, key, valueFor(key), 1);
      const wait = s.insertWait(1);
      attempted.push(key);
      try {
        const out = await s.run({ url: first.url });
        if (out[wait].kvError === KvError.OK) acknowledged.push(key);
      } catch {
        // the server died under this request
      }
      if (acknowledged.length >= 60 && !killed) {
        killed = true;
        first.child.kill("SIGKILL");
      }
    };
    // Waves of concurrent writes until the kill lands in the middle of one.
    for (let wave = 0; !killed && wave < 40; wave++) {
      await Promise.all(Array.from({ length: 16 }, (_, i) => write(`k${wave}-${i}`)));
    }
    expect(killed).toBe(true);
    // The child may have been reaped already while the last wave finished.
    if (first.child.signalCode === null && first.child.exitCode === null) await new Promise((resolve) => first.child.once("exit", resolve));
    expect(first.child.signalCode).toBe("SIGKILL");

    const second = await outpostServe(args);
    running.push(second);
    // The restarted server reads the same state; the test reads it too, as a second process may.
    const kv = KvDatabase.openExisting(join(project, ".outpost/state"))!;
    try {
      for (const key of acknowledged) expect(Buffer.from(kv.lookup("burst", key)?.value ?? []).toString(), key).toBe(valueFor(key));
      const present = kv.list("burst", { limit: 10_000 });
      if (present === "bad_request") throw new Error("bad request");
      for (const key of present.keys) {
        expect(attempted).toContain(key);
        expect(Buffer.from(kv.lookup("burst", key)!.value).toString(), `torn value for ${key}`).toBe(valueFor(key));
      }
      // And through the restarted server itself.
      const s = new KvScript();
      s.open("burst", 0);
      s.lookup(0, acknowledged[0], 1);
      const found = s.lookupWait(1);
      expect((await s.run({ url: second.url }))[found].text).toBe(valueFor(acknowledged[0]));
    } finally {
      await kv.close();
      await second.stop();
    }
  }, 120_000);
});
