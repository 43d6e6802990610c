// Building a project: run `[scripts].build` (or the language's default) with
// the toolchains found on this machine, then check that `bin/main.wasm` is a
// module the platform would run.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { readManifest, type Manifest } from "../../runtime/config/manifest.ts";
import { UserError } from "../user-error.ts";
import { defaultBuildScript } from "./languages.ts";
import type { Progress } from "./progress.ts";
import { buildEnvironment, toolNamed, toolsIn } from "./toolchains.ts";
import { checkWasm, formatSize, type WasmSummary } from "./wasm-check.ts";

/** A build script that failed: `output` is what it printed (the compiler's messages). */
export class BuildFailed extends UserError {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.output = output;
  }
}

export interface BuildResult {
  wasm: string;
  bytes: Uint8Array;
  summary: WasmSummary;
  ms: number;
}

/** Reads `DIR/fastly.toml` strictly: unknown keys and mistyped fields are errors. */
export function projectManifest(root: string): Manifest {
  const path = join(root, "fastly.toml");
  if (!existsSync(path)) throw new UserError(`${root} has no fastly.toml: create a project with \`outpost init\`, or run this in a project folder`);
  return readManifest(path, { strict: true });
}

export async function buildProject(root: string, options: { progress: Progress; verbose?: boolean }): Promise<BuildResult> {
  const manifest = projectManifest(root);
  const script = manifest.buildScript ?? defaultBuildScript(root, manifest);
  const tools = toolsIn(script);
  for (const tool of tools) {
    if (!tool.locate(root)) throw new UserError(`the build runs \`${tool.command}\`, which is not installed here. Install it: ${tool.install}`);
  }
  const wasm = join(root, "bin", "main.wasm");
  mkdirSync(join(root, "bin"), { recursive: true });
  const before = existsSync(wasm) ? statSync(wasm).mtimeMs : null;
  const name = manifest.name || "project";
  options.progress.start(`Building ${name}: ${script}`);
  const started = performance.now();
  const run = await runScript(script, { cwd: root, env: buildEnvironment(root, tools), verbose: options.verbose });
  if (run.code !== 0) {
    options.progress.fail(`Building ${name} failed`);
    throw new BuildFailed(failure(run, script, root), run.output);
  }
  if (!existsSync(wasm)) {
    options.progress.fail(`Building ${name} failed`);
    throw new BuildFailed(`the build finished but wrote no bin/main.wasm: make [scripts].build in fastly.toml write the module there`, run.output);
  }
  const bytes = readFileSync(wasm);
  let summary: WasmSummary;
  try {
    summary = await checkWasm(bytes, relative(root, wasm) || wasm);
  } catch (error) {
    options.progress.fail(`Building ${name} produced a module the platform would refuse`);
    throw error;
  }
  const ms = performance.now() - started;
  const stale = before !== null && statSync(wasm).mtimeMs === before ? " (the build left it unchanged)" : "";
  options.progress.succeed(`Built bin/main.wasm: ${formatSize(summary.size)} in ${(ms / 1000).toFixed(1)} s${stale}`);
  return { wasm, bytes, summary, ms };
}

interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a shell command, collecting its output (and echoing it when `verbose`). */
function runScript(script: string, options: { cwd: string; env: NodeJS.ProcessEnv; verbose?: boolean }): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.verbose) process.stderr.write(chunk);
    };
    // Compilers that colour regardless (wat2wasm) are made plain for logs and pipes.
    const plain = () => (process.stderr.isTTY ? output : stripVTControlCharacters(output));
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, output: plain() }));
  });
}

/** The message for a failed build: a missing command gets its install line. */
function failure(run: ScriptRun, script: string, root: string): string {
  const missing = /(?:^|\n)(?:\/bin\/sh: (?:\d+: )?)?([\w.+-]+): (?:command )?not found/.exec(run.output);
  if (run.code === 127 && missing) {
    const tool = toolNamed(missing[1]);
    const hint = tool ? `Install it: ${tool.install}` : `Install it, or change [scripts].build in ${join(root, "fastly.toml")}`;
    return `the build runs \`${missing[1]}\`, which is not installed here. ${hint}`;
  }
  const how = run.code === null ? `was stopped (${run.signal})` : `exited with status ${run.code}`;
  return `the build ${how}: ${script}${run.output.trim() ? " (its output is above)" : ""}`;
}
