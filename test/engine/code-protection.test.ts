// V8's code protection keys are off wherever Outpost runs guests: in the test
// processes (vitest.config.ts), and in `outpost serve` (cli/bin/outpost.js
// re-runs itself with the flag on a CPU that has the keys).
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { codeProtectionActive, cpuHasProtectionKeys, NO_CODE_PROTECTION_FLAG } from "../../runtime/engine/code-protection.ts";
import { outpostServe } from "../helpers/cli.ts";
import { ROOT } from "../helpers/toolchains.ts";

const run = promisify(execFile);
const PROBE = `import("./runtime/engine/code-protection.ts").then((m) => console.log(m.codeProtectionActive()))`;

describe("V8 code protection keys", () => {
  it("are off in the test processes", () => {
    expect(process.execArgv).toContain(NO_CODE_PROTECTION_FLAG);
    expect(codeProtectionActive()).toBe(false);
  });

  it("are reported active in a process started without the flag exactly when the CPU has them", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", PROBE], { cwd: ROOT });
    expect(stdout.trim()).toBe(String(cpuHasProtectionKeys()));
  });

  it.skipIf(!cpuHasProtectionKeys())("are turned off by `outpost serve` on this CPU", async () => {
    const server = await outpostServe(["examples/hello", "--admin-addr", "off"]);
    try {
      expect(await (await fetch(server.url)).text()).toBe("Hello from Outpost!\n");
      // The command re-ran itself with the flag: the server is its child process.
      const children = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && parentOf(entry) === server.child.pid);
      const commandLines = children.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"));
      expect(commandLines).toEqual([expect.arrayContaining([NO_CODE_PROTECTION_FLAG, "serve"])]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

/** A process's parent, from /proc/PID/stat (the field after the state, past the parenthesised name). */
function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}
