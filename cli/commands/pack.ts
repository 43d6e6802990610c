// `outpost pack [DIR]`: put fastly.toml and bin/main.wasm (or --wasm-binary)
// into pkg/<name>.tar.gz, the package the platform deploys.
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { projectManifest } from "../project/build-project.ts";
import { packageHash, packageName, readPackage, writePackage } from "../project/package-archive.ts";
import { displayPath, projectDirectory } from "../project/project-dir.ts";
import { checkWasm, formatSize } from "../project/wasm-check.ts";
import { UserError } from "../user-error.ts";

export function packCommand(): Command {
  return new Command("pack")
    .description("package fastly.toml and bin/main.wasm as pkg/<name>.tar.gz")
    .argument("[dir]", "project directory", ".")
    .option("--wasm-binary <path>", "the Wasm module to package (default: DIR/bin/main.wasm)")
    .action(async (dir: string, flags: { wasmBinary?: string }) => {
      const root = projectDirectory(dir);
      const manifest = projectManifest(root);
      const wasm = flags.wasmBinary ? resolve(flags.wasmBinary) : join(root, "bin", "main.wasm");
      if (!existsSync(wasm)) {
        throw new UserError(
          flags.wasmBinary ? `--wasm-binary ${flags.wasmBinary}: no such file` : `${wasm}: no such file: build it first with \`outpost build\` (or pass --wasm-binary PATH)`,
        );
      }
      await checkWasm(readFileSync(wasm), flags.wasmBinary ?? relative(root, wasm));
      const name = packageName(manifest.name);
      const out = join(root, "pkg", `${name}.tar.gz`);
      await writePackage(out, name, { manifest: join(root, "fastly.toml"), wasm });
      const files = readPackage(out);
      console.log(`Packed ${displayPath(out)}: ${formatSize(readFileSync(out).byteLength)}`);
      console.log(`SHA-512 of its files: ${packageHash(files)}`);
    });
}
