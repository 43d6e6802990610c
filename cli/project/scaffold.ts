// Writing a new project's files: a language template or a starter copied in,
// the SDK vendored where the template expects it, fastly.toml, .gitignore.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { LANGUAGE_SPECS, type Language } from "./languages.ts";

/** What never belongs in a new project: build outputs, installed packages, local state. */
const SKIPPED = new Set([".git", "bin", "pkg", ".outpost", "node_modules", "target", "zig-cache", ".zig-cache", "zig-out", "Cargo.lock"]);
/** Parts of an SDK's folder that are not the SDK itself. */
const NOT_SDK = new Set([...SKIPPED, "template", "examples", "test", "tests", "build"]);

/** Copies `from` into `to` (leaving out the names in `skip`), replacing `{{name}}` in text files; returns the files written. */
export function copyTree(from: string, to: string, name: string, skip: ReadonlySet<string> = SKIPPED): string[] {
  const written: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue;
      const source = join(dir, entry.name);
      const target = join(to, relative(from, source));
      if (entry.isDirectory()) {
        walk(source);
        continue;
      }
      if (!entry.isFile()) continue;
      mkdirSync(dirname(target), { recursive: true });
      const bytes = readFileSync(source);
      writeFileSync(target, isText(bytes) ? bytes.toString("utf8").replaceAll("{{name}}", name) : bytes, { mode: statSync(source).mode });
      written.push(relative(to, target));
    }
  };
  walk(from);
  return written;
}

/** Copies an SDK into the project (`vendor/...`), without its template, examples and tests. */
export function vendorSdk(language: Language, project: string): string | null {
  const sdk = LANGUAGE_SPECS[language].sdk;
  if (!sdk) return null;
  cpSync(sdk.from, join(project, sdk.to), {
    recursive: true,
    filter: (source) => {
      const name = basename(source);
      return source === sdk.from || (!NOT_SDK.has(name) && !sdk.skip(name) && !name.endsWith(".test.ts") && !name.endsWith(".wasm"));
    },
  });
  return sdk.to;
}

/**
 * Points a starter copied out of Outpost's examples at the vendored SDK: its
 * relative references to `sdk/<lang>` (a Cargo path dependency, an include
 * path, an import) become `vendor/...`.
 */
export function repointSdk(language: Language, starter: string, project: string, files: readonly string[]): void {
  const sdk = LANGUAGE_SPECS[language].sdk;
  if (!sdk) return;
  for (const file of files) {
    const path = join(project, file);
    const bytes = readFileSync(path);
    if (!isText(bytes)) continue;
    // The reference as written from the file's own folder in the starter, and what it must become.
    const fromFile = relative(dirname(join(starter, file)), sdk.from);
    const toFile = relative(dirname(path), join(project, sdk.to)) || ".";
    const text = bytes.toString("utf8");
    const updated = text.replaceAll(fromFile, toFile);
    if (updated !== text) writeFileSync(path, updated);
  }
}

/** Sets the top-level `name` of a fastly.toml, keeping the rest (comments too) as written. */
export function renameManifest(text: string, name: string): string {
  const header = text.search(/^\s*\[/m);
  const top = header === -1 ? text : text.slice(0, header);
  const rest = header === -1 ? "" : text.slice(header);
  const line = `name = ${JSON.stringify(name)}`;
  if (/^\s*name\s*=.*$/m.test(top)) return top.replace(/^\s*name\s*=.*$/m, line) + rest;
  return top.replace(/^(\s*manifest_version\s*=.*)$/m, `$1\n${line}`) + rest;
}

/** Sets `[package] name` in a Cargo.toml. */
export function renameCargoPackage(text: string, name: string): string {
  return text.replace(/(\[package\][^[]*?^\s*name\s*=\s*)"[^"]*"/ms, `$1${JSON.stringify(name)}`);
}

/** Sets `"name"` in a package.json. */
export function renamePackageJson(text: string, name: string): string {
  return text.replace(/("name"\s*:\s*)"[^"]*"/, `$1${JSON.stringify(name)}`);
}

/** Writes .gitignore with the build outputs, keeping lines already there. */
export function writeGitignore(project: string, language: Language | null): void {
  const path = join(project, ".gitignore");
  const existing = existsSync(path) ? readFileSync(path, "utf8") : "";
  const have = new Set(existing.split("\n").map((line) => line.trim()));
  const wanted = ["bin/", "pkg/", ".outpost/", ...(language ? LANGUAGE_SPECS[language].outputs : [])];
  const missing = wanted.filter((line) => !have.has(line) && !have.has(`/${line}`));
  if (missing.length === 0) return;
  const prefix = existing && !existing.endsWith("\n") ? "\n" : "";
  writeFileSync(path, existing + prefix + missing.join("\n") + "\n");
}

export interface ManifestFields {
  name: string;
  description: string;
  language: Language;
  build: string;
}

/** A new project's fastly.toml. */
export function manifestText(fields: ManifestFields): string {
  return `# This file describes a Fastly Compute package. To learn more visit:
# https://www.fastly.com/documentation/reference/compute/fastly-toml

manifest_version = 3
name = ${JSON.stringify(fields.name)}
description = ${JSON.stringify(fields.description)}
authors = []
language = ${JSON.stringify(fields.language)}

[scripts]
# \`outpost build\` runs this; it must write bin/main.wasm.
build = ${JSON.stringify(fields.build)}

# What \`outpost serve\` gives the app locally: backends (by name), stores, geolocation...
[local_server]
  # The app reaches this origin as the backend "origin".
  [local_server.backends.origin]
  url = "http://127.0.0.1:8080/"
  # override_host = "www.example.com"
`;
}

/** Whether bytes look like UTF-8 text (no NUL in the first 8 KiB). */
function isText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 8192).includes(0);
}
