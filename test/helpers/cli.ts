// Runs the real `outpost` command in a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./toolchains.ts";

const BIN = join(ROOT, "cli/bin/outpost.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `outpost ...args` to completion. */
export function outpost(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts `outpost serve ...` and waits until it says where it listens. */
export function outpostServe(args: string[], options: { cwd?: string } = {}): Promise<RunningCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", "--addr", "127.0.0.1:0", ...args], { cwd: options.cwd ?? ROOT });
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /on (https?:\/\/[^\s]+) /.exec(output);
      if (match) {
        resolve({
          child,
          url: match[1],
          output: () => output,
          stop: () =>
            new Promise((done) => {
              child.once("close", (code) => done(code));
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => reject(new Error(`outpost serve exited (${code}) before listening:\n${output}`)));
  });
}
