// The languages `outpost init` and `outpost build` know: where each one's
// project template and SDK are, what its build script is, and what its
// build leaves behind that git and `serve --watch` should ignore.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import type { Manifest } from "../../runtime/config/manifest.ts";
import { UserError } from "../user-error.ts";
import { OUTPOST_ROOT } from "./toolchains.ts";

export const LANGUAGES = ["rust", "javascript", "zig", "assemblyscript", "c"] as const;
export type Language = (typeof LANGUAGES)[number];

export interface LanguageSpec {
  title: string;
  /** The files `init` writes besides fastly.toml. */
  template: string;
  /** The SDK copied into the project, where the template expects it, and what of its folder is not for projects. */
  sdk: { from: string; to: string; skip: (name: string) => boolean } | null;
  /** `[scripts].build` for a new project. */
  build: string;
  /** What the build leaves in the project, besides bin/ (for .gitignore and watching). */
  outputs: string[];
}

export const LANGUAGE_SPECS: Record<Language, LanguageSpec> = {
  rust: {
    title: "Rust",
    template: join(OUTPOST_ROOT, "sdk/rust/template"),
    sdk: { from: join(OUTPOST_ROOT, "sdk/rust"), to: "vendor/outpost-sdk", skip: (name) => name.endsWith(".ts") },
    // The template's binary is called `main` (Cargo.toml's [[bin]]).
    build: "cargo build --release --target wasm32-wasi --offline --quiet && mkdir -p bin && cp target/wasm32-wasi/release/main.wasm bin/main.wasm",
    outputs: ["target/"],
  },
  javascript: {
    title: "JavaScript",
    template: join(OUTPOST_ROOT, "cli/templates/javascript"),
    sdk: null,
    build: "js-compute-runtime src/index.js bin/main.wasm",
    outputs: ["node_modules/"],
  },
  zig: {
    title: "Zig",
    template: join(OUTPOST_ROOT, "sdk/zig/template"),
    sdk: { from: join(OUTPOST_ROOT, "sdk/zig"), to: "vendor/outpost", skip: (name) => name.endsWith(".ts") },
    // The SDK is the module `outpost` (`@import("outpost")`).
    build: "zig build-exe --mod outpost::vendor/outpost/src/outpost.zig --deps outpost src/main.zig -target wasm32-wasi -O ReleaseSmall -fstrip -femit-bin=bin/main.wasm",
    outputs: ["zig-cache/", ".zig-cache/", "zig-out/"],
  },
  assemblyscript: {
    title: "AssemblyScript",
    template: join(OUTPOST_ROOT, "sdk/assemblyscript/template"),
    sdk: { from: join(OUTPOST_ROOT, "sdk/assemblyscript"), to: "vendor/outpost", skip: (name) => name === "scripts" },
    // asc reads the compiler options from the template's asconfig.json.
    build: "asc assembly/index.ts -o bin/main.wasm",
    outputs: ["node_modules/"],
  },
  c: {
    title: "C",
    template: join(OUTPOST_ROOT, "sdk/c/template"),
    sdk: { from: join(OUTPOST_ROOT, "sdk/c"), to: "vendor/outpost", skip: (name) => name.endsWith(".ts") },
    // The SDK is headers only.
    build: "clang --target=wasm32-wasi --sysroot=/usr -Os -I vendor/outpost/include -Wl,--gc-sections,--strip-all -o bin/main.wasm src/main.c",
    outputs: [],
  },
};

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/** The build a project without `[scripts].build` gets, from its `language`. */
export function defaultBuildScript(root: string, manifest: Manifest): string {
  const where = manifest.path ?? join(root, "fastly.toml");
  const language = manifest.language;
  if (!isLanguage(language)) {
    throw new UserError(
      `${where} has no [scripts].build and ${language ? `language "${language}" has no default build` : "names no language"}: ` +
        `add [scripts] build = "..." (a command that writes bin/main.wasm)${language ? "" : `, or set language to one of ${LANGUAGES.join(", ")}`}`,
    );
  }
  if (language !== "rust") return LANGUAGE_SPECS[language].build;
  const binary = rustBinary(root);
  return `cargo build --release --target wasm32-wasi --offline --quiet && mkdir -p bin && cp target/wasm32-wasi/release/${binary}.wasm bin/main.wasm`;
}

/** The name of the binary cargo builds: Cargo.toml's first [[bin]], else its package. */
function rustBinary(root: string): string {
  const path = join(root, "Cargo.toml");
  if (!existsSync(path)) throw new UserError(`${root} has no Cargo.toml: a Rust project needs one (or set [scripts].build in fastly.toml)`);
  const cargo = parse(readFileSync(path, "utf8")) as { package?: { name?: unknown }; bin?: { name?: unknown }[] };
  const name = cargo.bin?.[0]?.name ?? cargo.package?.name;
  if (typeof name !== "string") throw new UserError(`${path} has no [package] name`);
  return name;
}
