// `outpost validate --package PATH` or `outpost validate [DIR]`: check a
// package (or a project's fastly.toml and bin/main.wasm) as the platform
// would before deploying it. Each fault is named with its fix; exit 1.
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { parseManifest } from "../../runtime/config/manifest.ts";
import { projectManifest } from "../project/build-project.ts";
import { packageHash, readPackage, type PackageFile } from "../project/package-archive.ts";
import { displayPath, projectDirectory } from "../project/project-dir.ts";
import { checkWasm, formatSize } from "../project/wasm-check.ts";
import { UserError } from "../user-error.ts";

export function validateCommand(): Command {
  return new Command("validate")
    .description("check a package (--package PATH) or a project: layout, fastly.toml, and the Wasm module")
    .argument("[dir]", "project directory (when no --package is given)", ".")
    .option("--package <path>", "a package made by `outpost pack` (pkg/<name>.tar.gz)")
    .action(async (dir: string, flags: { package?: string }) => {
      if (flags.package) return validatePackage(resolve(flags.package));
      const root = projectDirectory(dir);
      const manifest = projectManifest(root);
      const wasm = join(root, "bin", "main.wasm");
      if (!existsSync(wasm)) throw new UserError(`${displayPath(wasm)}: no such file: build it with \`outpost build\``);
      const summary = await checkWasm(readFileSync(wasm), relative(root, wasm));
      console.log(`${displayPath(root)} is valid: fastly.toml (${manifest.name || "no name"}), bin/main.wasm ${formatSize(summary.size)}`);
    });
}

async function validatePackage(path: string): Promise<void> {
  const shown = displayPath(path);
  const files = readPackage(path);
  const tops = new Set(files.map((file) => file.path.split("/")[0]));
  const loose = files.filter((file) => !file.path.includes("/"));
  if (loose.length > 0 || tops.size !== 1) {
    const found = loose.length > 0 ? `${loose.map((file) => file.path).join(", ")} at its top level` : `${tops.size} top-level folders (${[...tops].join(", ")})`;
    throw new UserError(`${shown} has ${found}: a package holds one folder <name>/ with fastly.toml and bin/main.wasm; make it with \`outpost pack\``);
  }
  if (files.length === 0) throw new UserError(`${shown} is empty: make the package with \`outpost pack\``);
  const [top] = tops;
  const find = (name: string): PackageFile | undefined => files.find((file) => file.path === `${top}/${name}`);
  const manifestFile = find("fastly.toml");
  const wasmFile = find("bin/main.wasm");
  if (!manifestFile) {
    throw new UserError(`${shown} has no ${top}/fastly.toml: the platform needs the manifest beside bin/; make the package again with \`outpost pack\` in the project (which has a fastly.toml)`);
  }
  if (!wasmFile) {
    throw new UserError(`${shown} has no ${top}/bin/main.wasm: build the module (\`outpost build\`) and make the package again with \`outpost pack\``);
  }
  const extra = files.filter((file) => file !== manifestFile && file !== wasmFile);
  if (extra.length > 0) {
    throw new UserError(
      `${shown} holds ${extra.length === 1 ? "a file" : "files"} besides fastly.toml and bin/main.wasm: ${extra.map((file) => file.path).join(", ")}: ` +
        `remove ${extra.length === 1 ? "it" : "them"} (\`outpost pack\` packages only those two)`,
    );
  }
  const manifest = parseManifest(manifestFile.bytes.toString("utf8"), `${shown}:${manifestFile.path}`, resolve(path, ".."), { strict: true });
  const summary = await checkWasm(wasmFile.bytes, `${shown}:${wasmFile.path}`);
  console.log(`${shown} is valid: ${manifest.name || top} with bin/main.wasm ${formatSize(summary.size)}`);
  console.log(`SHA-512 of its files: ${packageHash(files)}`);
}
