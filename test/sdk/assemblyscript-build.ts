// Builds AssemblyScript guests against sdk/assemblyscript with the real `asc`,
// cached by the hash of every file the build reads.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { assemblyscript, ROOT } from "../helpers/toolchains.ts";

export const SDK = "sdk/assemblyscript";

/** Every source of the SDK (relative to the repository). */
export function sdkSources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []));
  return [join(SDK, "index.ts"), ...walk(join(SDK, "assembly"))];
}

/** A project's guest: `asc ENTRY` in `dir` (the directory with its asconfig.json). */
export function buildWithSdk(dir: string, entry = "assembly/index.ts"): Promise<Uint8Array> {
  return assemblyscript(dir, entry, sdkSources());
}
