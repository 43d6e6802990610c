// Compute packages: `pkg/<name>.tar.gz` holding one folder `<name>/` with
// `fastly.toml` and `bin/main.wasm` (shared/abi/MANIFEST.md §4). Writing one,
// reading one back, and its hash: SHA-512 over the files' contents in the
// order of their names.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { create, Parser, type ReadEntry } from "tar";
import { UserError } from "../user-error.ts";

/** The platform's largest package. */
export const MAX_PACKAGE_BYTES = 100 * 1024 * 1024;

/** A package name safe as a file and folder name: letters, digits, `-` and `_` ("package" when empty). */
export function packageName(name: string): string {
  const safe = name.trim().replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return safe || "package";
}

/** Writes `out` (a .tar.gz) holding `<name>/fastly.toml` and `<name>/bin/main.wasm`. */
export async function writePackage(out: string, name: string, files: { manifest: string; wasm: string }): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), "outpost-pack-"));
  try {
    mkdirSync(join(staging, name, "bin"), { recursive: true });
    copyFileSync(files.manifest, join(staging, name, "fastly.toml"));
    copyFileSync(files.wasm, join(staging, name, "bin", "main.wasm"));
    mkdirSync(dirname(out), { recursive: true });
    await create({ gzip: true, file: out, cwd: staging, portable: true }, [name]);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface PackageFile {
  path: string;
  bytes: Buffer;
}

/** The files of a .tar.gz package (directories left out), in archive order. Faults are UserErrors. */
export function readPackage(path: string): PackageFile[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `${path}: no such file (make a package with \`outpost pack\`)` : `${path}: cannot read: ${(error as Error).message}`);
  }
  if (data.byteLength > MAX_PACKAGE_BYTES) {
    throw new UserError(`${path} is ${(data.byteLength / 2 ** 20).toFixed(1)} MiB, over the platform's 100 MiB limit: make the Wasm binary smaller`);
  }
  if (data[0] !== 0x1f || data[1] !== 0x8b) {
    throw new UserError(`${path} is not a gzip-compressed tar archive (.tar.gz): make the package with \`outpost pack\``);
  }
  let tar: Buffer;
  try {
    tar = gunzipSync(data);
  } catch (error) {
    throw new UserError(`${path}: the gzip data is corrupt (${(error as Error).message}): make the package again with \`outpost pack\``);
  }
  const files: PackageFile[] = [];
  const problems: string[] = [];
  const parser = new Parser({
    strict: true,
    onwarn: (_code: string, message: string | Error) => problems.push(typeof message === "string" ? message : message.message),
    onReadEntry: (entry: ReadEntry) => {
      if (entry.type !== "File" && entry.type !== "OldFile" && entry.type !== "ContiguousFile") {
        if (entry.type !== "Directory") problems.push(`${entry.path} is a ${entry.type}, not a regular file`);
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      entry.on("end", () => files.push({ path: entry.path.replace(/^\.\//, ""), bytes: Buffer.concat(chunks) }));
    },
  });
  parser.on("error", (error: Error) => problems.push(error.message));
  parser.end(tar);
  if (problems.length > 0) throw new UserError(`${path} is not a valid tar archive (${problems[0]}): make the package again with \`outpost pack\``);
  return files;
}

/** SHA-512 over the files' contents, taken in the order of their paths. */
export function packageHash(files: readonly PackageFile[]): string {
  const hash = createHash("sha512");
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) hash.update(file.bytes);
  return hash.digest("hex");
}
