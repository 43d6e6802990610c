// `npm run bench:sizes`: builds every SDK's hello example (examples/hello-*)
// with `outpost build` and reports the size of its bin/main.wasm against the
// targets, as a Markdown table. A language with no hello example is measured
// on the project `outpost init --language L` makes. Exits 1 when a module is
// over its target or a build fails; a language whose toolchain is missing is
// reported and skipped.
//
//   npm run bench:sizes [-- --only=hello-c,hello-zig]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readManifest } from "../runtime/config/manifest.ts";
import { BuildFailed, buildProject } from "../cli/project/build-project.ts";
import { defaultBuildScript, LANGUAGES } from "../cli/project/languages.ts";
import { progress } from "../cli/project/progress.ts";
import { toolsIn } from "../cli/project/toolchains.ts";
import { fmt, machine, markdownTable, requireNode24, ROOT, writeResult } from "./lib.ts";

/** Size targets in bytes (1 KB = 1,000 bytes); languages without one are reported only. */
const TARGETS: Record<string, number> = {
  c: 10_000,
  zig: 10_000,
  assemblyscript: 10_000,
  rust: 120_000,
};

interface Row {
  example: string;
  language: string;
  bytes: number | null;
  target: number | null;
  verdict: "ok" | "over target" | "no target" | "build failed" | "skipped";
  note?: string;
}

requireNode24();
const { values } = parseArgs({ options: { only: { type: "string" } } });
const examples = readdirSync(join(ROOT, "examples"))
  .filter((name) => name.startsWith("hello-") && existsSync(join(ROOT, "examples", name, "fastly.toml")))
  .map((name) => ({ name, dir: join(ROOT, "examples", name) }));
for (const language of LANGUAGES) {
  if (examples.some((example) => example.name === `hello-${language}` || (language === "javascript" && example.name === "hello-js"))) continue;
  const dir = join(mkdtempSync(join(tmpdir(), "outpost-sizes-")), `init-${language}`);
  execFileSync(process.execPath, [join(ROOT, "cli/bin/outpost.js"), "init", dir, "--language", language], { stdio: "ignore" });
  examples.push({ name: `outpost init --language ${language}`, dir });
}
const selected = examples.filter((example) => !values.only || values.only.split(",").includes(example.name));

const rows: Row[] = [];
for (const { name: example, dir } of selected) {
  const manifest = readManifest(join(dir, "fastly.toml"));
  const language = manifest.language || "other";
  const target = TARGETS[language] ?? null;
  const script = manifest.buildScript ?? defaultBuildScript(dir, manifest);
  const missing = toolsIn(script).find((tool) => !tool.locate(dir));
  if (missing) {
    rows.push({ example, language, bytes: null, target, verdict: "skipped", note: `${missing.command} is not installed: ${missing.install}` });
    continue;
  }
  try {
    const { summary } = await buildProject(dir, { progress: progress() });
    const verdict = target === null ? "no target" : summary.size < target ? "ok" : "over target";
    rows.push({ example, language, bytes: summary.size, target, verdict });
  } catch (error) {
    if (error instanceof BuildFailed) process.stderr.write(error.output);
    rows.push({ example, language, bytes: null, target, verdict: "build failed", note: (error as Error).message });
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);
console.log("## Wasm sizes of the hello examples (bin/main.wasm)\n");
console.log(
  markdownTable(
    ["example", "language", "bytes", "KiB", "target", "verdict"],
    rows.map((row) => [
      row.example,
      row.language,
      row.bytes === null ? "–" : fmt(row.bytes),
      row.bytes === null ? "–" : kib(row.bytes),
      row.target === null ? "–" : `< ${fmt(row.target / 1000)} KB`,
      row.note ? `${row.verdict}: ${row.note}` : row.verdict,
    ]),
  ),
);
const path = writeResult("sizes", { machine: machine(), rows });
console.error(`\nbench: results in ${path}`);
if (rows.some((row) => row.verdict === "over target" || row.verdict === "build failed")) process.exitCode = 1;
