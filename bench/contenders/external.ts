// Programs that are not Node (varnishd, nginx, workerd) or that are started
// through their own command line (`outpost serve`), run as contenders:
// found on the PATH, started as children of the benchmark with their files in
// a temporary directory, waited for until they answer HTTP, and never left
// behind. They are tracked like the other children (killed when the benchmark
// exits for any reason) and, when `setpriv` is there, also get a signal from
// the kernel if the benchmark itself is killed.
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { trackChild } from "../lib.ts";

/** The first executable `name` on the PATH or in `extra`, or null. */
export function findExecutable(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...extra]) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * A contender's executable: BENCH_<VAR>=/path picks one, BENCH_<VAR>=none
 * leaves the contender out (null), otherwise `name` on the PATH or in `extra`.
 */
export function chooseExecutable(envVar: string, name: string, extra: string[] = []): string | null {
  const chosen = process.env[envVar];
  if (chosen === "none") return null;
  if (chosen) return chosen;
  return findExecutable(name, extra);
}

export interface TempDir {
  path: string;
  remove(): void;
}

/** A fresh temporary directory, removed by `remove()` or when the benchmark exits. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `outpost-bench-${prefix}-`));
  const removeNow = () => rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  process.once("exit", removeNow);
  return {
    path,
    remove() {
      removeNow();
      process.off("exit", removeNow);
    },
  };
}

export interface DaemonOptions {
  /** For messages: "varnishd", "nginx", ... */
  name: string;
  command: string;
  args: string[];
  /** Base URL it will answer on (it listens on a port chosen by the benchmark). */
  url: string;
  cwd?: string;
  /** Removed when the daemon is stopped. */
  dir?: TempDir;
  /**
   * The signal that ends it for good, sent when the benchmark exits and by the
   * kernel when the benchmark dies (setpriv). KILL by default; a program that
   * must stop children of its own (nginx's workers) wants TERM.
   */
  finalSignal?: "KILL" | "TERM";
  timeoutMs?: number;
}

export interface Daemon {
  url: string;
  /** The last 4,000 characters of its stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a program and resolves once any HTTP request to its URL gets an answer. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const signal = options.finalSignal ?? "KILL";
  const setpriv = findExecutable("setpriv");
  const [command, args] = setpriv
    ? [setpriv, ["--pdeathsig", signal, options.command, ...options.args]]
    : [options.command, options.args];
  const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const stopChild = trackChild(child, `SIG${signal}`);
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let spawnError: Error | null = null;
  child.once("error", (error) => (spawnError = error));
  const stop = async () => {
    await stopChild();
    options.dir?.remove();
  };
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      const why = spawnError ? (spawnError as Error).message : `exited (${child.signalCode ?? child.exitCode})`;
      throw new Error(`${options.name} ${why} before listening${output.trim() ? `:\n${output.trim()}` : ""}`);
    }
    try {
      const response = await fetch(`${options.url}/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      break;
    } catch {
      if (performance.now() > deadline) {
        await stop();
        throw new Error(`${options.name} did not answer on ${options.url} in ${timeoutMs} ms${output.trim() ? `:\n${output.trim()}` : ""}`);
      }
      await sleep(100);
    }
  }
  return { url: options.url, output: () => output, stop };
}
