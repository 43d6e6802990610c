// Reloads JSON config stores when their files change, while the server runs.
// Each file's directory is watched (editors often save by writing a new file
// and renaming it over the old one, which a watch on the file itself would
// lose); bursts of events are debounced; a file that no longer parses keeps
// the store's previous contents and logs a warning. Every reload hands the
// whole set of stores to `update`, which publishes it as one new version
// (GuestRuntime.updateData): a request sees either the old or the new
// contents of every store, never a mix.
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ConfigError } from "../config/config-error.ts";
import { type ConfigStoreDefinition, configStoreData, reloadConfigStore } from "../config/config-stores.ts";
import type { Logger } from "../server/logger.ts";

export interface ConfigWatchOptions {
  logger: Pick<Logger, "info" | "warn">;
  /** Receives every store's contents after one of them changed. */
  update(configStores: Record<string, Record<string, string>>): void;
  /** Quiet time after the last change before the file is read (default 100 ms). */
  debounceMs?: number;
}

export interface ConfigWatch {
  close(): void;
}

export function watchConfigStores(definitions: readonly ConfigStoreDefinition[], options: ConfigWatchOptions): ConfigWatch {
  const debounceMs = options.debounceMs ?? 100;
  const stores = definitions.map((store) => ({ ...store }));
  const byFile = new Map<string, typeof stores>();
  for (const store of stores) {
    if (store.file === null) continue;
    byFile.set(store.file, [...(byFile.get(store.file) ?? []), store]);
  }
  const timers = new Map<string, NodeJS.Timeout>();
  const watchers: FSWatcher[] = [];
  let closed = false;

  const reload = (file: string) => {
    timers.delete(file);
    if (closed) return;
    let changed = false;
    for (const store of byFile.get(file) ?? []) {
      try {
        const { contents, warnings } = reloadConfigStore(store);
        if (isDeepStrictEqual(contents, store.contents)) continue;
        for (const warning of warnings) options.logger.warn(warning);
        store.contents = contents;
        changed = true;
        const count = Object.keys(contents).length;
        options.logger.info(`config store "${store.name}" reloaded from ${file} (${count} ${count === 1 ? "entry" : "entries"})`);
      } catch (error) {
        const problem = error instanceof ConfigError ? error.message : `${store.where}: cannot reload ${file}: ${(error as Error).message}`;
        options.logger.warn(`${problem}; config store "${store.name}" keeps its previous contents until the file is fixed`);
      }
    }
    if (changed) options.update(configStoreData(stores));
  };

  const schedule = (file: string) => {
    clearTimeout(timers.get(file));
    const timer = setTimeout(() => reload(file), debounceMs);
    timer.unref();
    timers.set(file, timer);
  };

  const directories = new Map<string, string[]>();
  for (const file of byFile.keys()) directories.set(dirname(file), [...(directories.get(dirname(file)) ?? []), file]);
  for (const [directory, files] of directories) {
    try {
      const watcher = watch(directory, { persistent: false }, (_event, name) => {
        // Some platforms do not say which file changed: then every store file here is read again.
        for (const file of files) if (name === null || name === basename(file)) schedule(file);
      });
      watcher.on("error", (error) => {
        options.logger.warn(`stopped watching ${directory} for config store changes: ${error.message}`);
        watcher.close();
      });
      watchers.push(watcher);
    } catch (error) {
      options.logger.warn(`cannot watch ${directory} for config store changes (${(error as Error).message}); edits need a restart`);
    }
  }
  // A change between the start-up read and the watch is not missed: every file is read once more.
  for (const file of byFile.keys()) schedule(file);

  return {
    close() {
      closed = true;
      for (const watcher of watchers) watcher.close();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
