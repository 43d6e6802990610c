// `outpost init [DIR]`: a new Compute project from a language template or a
// starter (one of the examples, or a local folder), ready for `outpost build`.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { suggest } from "../../runtime/config/config-error.ts";
import { isLanguage, LANGUAGE_SPECS, LANGUAGES, type Language } from "../project/languages.ts";
import { packageName } from "../project/package-archive.ts";
import { displayPath } from "../project/project-dir.ts";
import {
  copyTree,
  manifestText,
  renameCargoPackage,
  renameManifest,
  renamePackageJson,
  repointSdk,
  vendorSdk,
  writeGitignore,
} from "../project/scaffold.ts";
import { OUTPOST_ROOT } from "../project/toolchains.ts";
import { UserError } from "../user-error.ts";

interface InitFlags {
  language?: string;
  from?: string;
  name?: string;
  force?: boolean;
}

const EXAMPLES = join(OUTPOST_ROOT, "examples");

export function initCommand(): Command {
  return new Command("init")
    .description("create a Compute project: fastly.toml, sources and the SDK for a language, or a copy of a starter")
    .argument("[dir]", "where to create it", ".")
    .addOption(new Option("--language <language>", "the project's language").choices(LANGUAGES))
    .option("--from <starter>", `a starter to copy: a local folder, or one of Outpost's examples by name (${starters().join(", ") || "none"})`)
    .option("--name <name>", "the package name (default: the folder's name)")
    .option("--force", "write into a folder that is not empty (files of the same name are replaced)")
    .action(async (dir: string, flags: InitFlags) => {
      const root = resolve(dir);
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
      if (flags.from && flags.language) throw new UserError("--from and --language do not go together: the starter's fastly.toml gives the language");
      checkTarget(root, dir, flags.force);
      const name = flags.name ?? (interactive ? await ask(`Package name`, defaultName(root)) : defaultName(root));
      if (!name.trim()) throw new UserError("--name must not be empty");
      const created = flags.from ? fromStarter(root, flags.from, name) : fromTemplate(root, await language(flags, interactive), name);
      console.log(`Created ${created.what} in ${displayPath(root)}`);
      console.log("Next:");
      if (root !== process.cwd()) console.log(`  cd ${displayPath(root)}`);
      console.log("  outpost build        # writes bin/main.wasm");
      console.log("  outpost serve        # serves it on http://127.0.0.1:7676");
      console.log("  outpost serve --watch  # rebuilds and reloads on every change");
    });
}

async function language(flags: InitFlags, interactive: boolean): Promise<Language> {
  if (flags.language) return flags.language as Language;
  if (!interactive) {
    throw new UserError(`--language is required when not run in a terminal: pass --language ${LANGUAGES.join("|")} (or --from STARTER)`);
  }
  const { select } = await import("@inquirer/prompts");
  return prompted(select({ message: "Language", choices: LANGUAGES.map((value) => ({ value, name: LANGUAGE_SPECS[value].title })) }));
}

async function ask(message: string, fallback: string): Promise<string> {
  const { input } = await import("@inquirer/prompts");
  return prompted(input({ message, default: fallback }));
}

/** A prompt's answer; Ctrl-C ends init with one line instead of a stack trace. */
async function prompted<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    if ((error as Error).name === "ExitPromptError") throw new UserError("init cancelled: nothing was written");
    throw error;
  }
}

function defaultName(root: string): string {
  return packageName(basename(root)).toLowerCase();
}

/** Refuses a folder with files in it (a `.git` alone is fine) unless --force. */
function checkTarget(root: string, dir: string, force?: boolean): void {
  if (!existsSync(root)) return;
  if (!statSync(root).isDirectory()) throw new UserError(`${dir} exists and is not a folder: pick another place for the project`);
  const entries = readdirSync(root).filter((entry) => entry !== ".git");
  if (entries.length > 0 && !force) {
    throw new UserError(`${dir} is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}): pick an empty or new folder, or pass --force to write into it`);
  }
}

function fromTemplate(root: string, language: Language, name: string): { what: string } {
  const spec = LANGUAGE_SPECS[language];
  if (!existsSync(spec.template)) {
    throw new UserError(`the ${spec.title} template is missing from this Outpost installation (${spec.template}); reinstall Outpost`);
  }
  const id = packageName(name).toLowerCase();
  const files = copyTree(spec.template, root, id);
  vendorSdk(language, root);
  renameProjectFiles(root, files, id);
  writeFileSync(
    join(root, "fastly.toml"),
    manifestText({ name, description: `A ${spec.title} app for Fastly Compute`, language, build: spec.build }),
  );
  writeGitignore(root, language);
  return { what: `a ${spec.title} project "${name}"` };
}

/** The crate's and npm package's names follow the project's. */
function renameProjectFiles(root: string, files: readonly string[], id: string): void {
  // Cargo wants a package name that does not start with a digit.
  if (files.includes("Cargo.toml")) rewrite(join(root, "Cargo.toml"), (text) => renameCargoPackage(text, /^\d/.test(id) ? `app-${id}` : id));
  if (files.includes("package.json")) rewrite(join(root, "package.json"), (text) => renamePackageJson(text, id));
}

function fromStarter(root: string, starter: string, name: string): { what: string } {
  const source = starterDirectory(starter);
  const manifestPath = join(source, "fastly.toml");
  const manifest = parseManifest(readFileSync(manifestPath, "utf8"), manifestPath, source);
  const language = isLanguage(manifest.language) ? manifest.language : null;
  const id = packageName(name).toLowerCase();
  const files = copyTree(source, root, id);
  if (language) {
    vendorSdk(language, root);
    repointSdk(language, source, root, files);
  }
  renameProjectFiles(root, files, id);
  rewrite(join(root, "fastly.toml"), (text) => renameManifest(text, name));
  writeGitignore(root, language);
  return { what: `"${name}" from the starter ${starter}` };
}

/** A local folder with a fastly.toml, or one of the examples by name. */
function starterDirectory(starter: string): string {
  const local = resolve(starter);
  if (existsSync(join(local, "fastly.toml"))) return local;
  if (existsSync(local) && statSync(local).isDirectory()) throw new UserError(`--from ${starter}: the folder has no fastly.toml, so it is not a Compute project`);
  const builtIn = join(EXAMPLES, starter);
  if (/^[\w-]+$/.test(starter) && existsSync(join(builtIn, "fastly.toml"))) return builtIn;
  const names = starters();
  throw new UserError(`--from ${starter}: no such folder or starter${names.length > 0 ? suggest(starter, names).replace("expected one of", "the starters are") : ""}`);
}

/** The examples that can start a project. */
function starters(): string[] {
  if (!existsSync(EXAMPLES)) return [];
  return readdirSync(EXAMPLES)
    .filter((name) => existsSync(join(EXAMPLES, name, "fastly.toml")))
    .sort();
}

function rewrite(path: string, change: (text: string) => string): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, "utf8");
  const updated = change(text);
  if (updated !== text) writeFileSync(path, updated);
}
