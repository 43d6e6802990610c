// `outpost serve --watch`: rebuild the project when its sources change and
// swap the new module into the running server. Requests already running
// finish on the old module; the cache and KV stores are kept; a failed build
// leaves the old module serving and prints the compiler's messages.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, type Stats } from "node:fs";
import { join, relative, sep } from "node:path";
import { watch } from "chokidar";
import ignore from "ignore";
import type { UnknownImportPolicy } from "../../runtime/engine/linker.ts";
import { forgetModule, type LoadedModule, loadModule } from "../../runtime/engine/module-loader.ts";
import type { GuestRuntime } from "../../runtime/server/guest-runtime.ts";
import type { Logger } from "../../runtime/server/logger.ts";
import { BuildFailed, buildProject } from "./build-project.ts";
import { LANGUAGE_SPECS } from "./languages.ts";
import { progress } from "./progress.ts";

/** Never watched: build outputs, packages, local state, dependencies, version control. */
const ALWAYS_IGNORED = [
  ...new Set([
    "bin/",
    "pkg/",
    ".outpost/",
    "node_modules/",
    ".git/",
    ...Object.values(LANGUAGE_SPECS).flatMap((spec) => spec.outputs),
    // js-compute-runtime writes its bundle into the project while it builds.
    "__input_bundled.js",
  ]),
];
/** Files larger than this are compared by size and time instead of content. */
const HASHED_BYTES = 4 * 1024 * 1024;

export interface WatchOptions {
  root: string;
  /** The module to load after each build. */
  wasm: string;
  runtime: GuestRuntime;
  /** The server's memory limit and import policy, to compile modules as it does. */
  memoryBytes: number;
  unknownImports: UnknownImportPolicy;
  logger: Logger;
  debounceMs?: number;
}

export interface ProjectWatcher {
  /** Resolves once the initial scan is done and changes are being watched. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Builds once before serving; a failure keeps an earlier bin/main.wasm if there is one. */
export async function buildBeforeServing(root: string, wasm: string, logger: Logger): Promise<void> {
  try {
    await buildProject(root, { progress: progress() });
  } catch (error) {
    if (!existsSync(wasm)) throw error;
    if (error instanceof BuildFailed) process.stderr.write(error.output.replace(/\n?$/, "\n"));
    logger.error(`${(error as Error).message}; serving the previous build until the next change`);
  }
}

export function watchProject(options: WatchOptions): ProjectWatcher {
  const { root, logger } = options;
  const rules = ignore().add(ALWAYS_IGNORED);
  for (const file of [".gitignore", ".outpostignore"]) {
    const path = join(root, file);
    if (existsSync(path)) rules.add(readFileSync(path, "utf8"));
  }
  const ignored = (path: string, stats?: Stats): boolean => {
    const rel = relative(root, path).split(sep).join("/");
    if (!rel || rel.startsWith("..")) return false;
    const isDir = stats ? stats.isDirectory() : isDirectory(path);
    return rules.ignores(isDir ? `${rel}/` : rel);
  };

  const seen = new Map<string, string>();
  let scanning = true;
  let timer: NodeJS.Timeout | undefined;
  let building: Promise<void> | null = null;
  let changed = new Set<string>();
  const load = (bytes: Uint8Array) => loadModule(bytes, { memoryBytes: options.memoryBytes, unknownImports: options.unknownImports, name: options.wasm });
  // The module the server started with (compiled already: this finds it in the compile cache).
  let current: LoadedModule | null = null;
  void load(readFileSync(options.wasm)).then(
    (module) => (current ??= module),
    () => {},
  );

  const rebuild = async (): Promise<void> => {
    const files = [...changed];
    changed = new Set();
    logger.info(`${describe(files)} changed: rebuilding`);
    if (files.includes("fastly.toml")) logger.warn("fastly.toml changed: restart outpost serve to apply changes to [local_server]");
    try {
      await buildProject(root, { progress: progress() });
      const module = await load(readFileSync(options.wasm));
      if (module.id === current?.id) {
        logger.info("the build made the same module: nothing to swap");
        return;
      }
      options.runtime.swapModule(module);
      if (current) forgetModule(current.id);
      current = module;
      logger.info("serving the new build (requests already running finish on the previous one)");
    } catch (error) {
      if (error instanceof BuildFailed && error.output.trim()) process.stderr.write(error.output.replace(/\n?$/, "\n"));
      logger.error(`${(error as Error).message}; still serving the previous build`);
    }
  };

  // Changes that arrive during a build are built right after it.
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (building || changed.size === 0) return;
      building = (async () => {
        while (changed.size > 0) await rebuild();
      })().finally(() => (building = null));
    }, options.debounceMs ?? 150);
  };

  const onFile = (event: "add" | "change" | "unlink", path: string) => {
    const rel = relative(root, path).split(sep).join("/");
    if (event === "unlink") {
      if (!seen.delete(rel) && !scanning) return;
    } else {
      const fingerprint = fileFingerprint(path);
      if (fingerprint === null || seen.get(rel) === fingerprint) return;
      seen.set(rel, fingerprint);
    }
    if (scanning) return;
    changed.add(rel);
    schedule();
  };

  const watcher = watch(root, { ignored, ignoreInitial: false, persistent: true });
  watcher.on("add", (path) => onFile("add", path));
  watcher.on("change", (path) => onFile("change", path));
  watcher.on("unlink", (path) => onFile("unlink", path));
  watcher.on("error", (error) => logger.warn(`watching ${root}: ${(error as Error).message}`));
  const ready = new Promise<void>((resolve) =>
    watcher.once("ready", () => {
      scanning = false;
      logger.info(`watching ${root} for changes (except in bin/, pkg/, .outpost/, node_modules/, other build outputs, and what .gitignore and .outpostignore list)`);
      resolve();
    }),
  );
  return {
    ready,
    async close() {
      clearTimeout(timer);
      await watcher.close();
      await building;
    },
  };
}

/** A file's content hash (size and time for big ones), or null when it is gone. */
function fileFingerprint(path: string): string | null {
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return null;
    if (stats.size > HASHED_BYTES) return `${stats.size}:${stats.mtimeMs}`;
    return createHash("sha1").update(readFileSync(path)).digest("hex");
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function describe(files: string[]): string {
  if (files.length === 1) return files[0];
  return `${files.slice(0, 3).join(", ")}${files.length > 3 ? ` and ${files.length - 3} more` : ""}`;
}
