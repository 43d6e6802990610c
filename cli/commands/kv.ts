// `outpost kv`: read and write the KV stores of `outpost serve`, running or
// stopped.
//
//   outpost kv stores
//   outpost kv list STORE [--prefix P]
//   outpost kv get STORE KEY
//   outpost kv put STORE KEY [VALUE | --file F] [--metadata M] [--ttl S] [--mode add|append|prepend]
//   outpost kv delete STORE KEY
//
// Where: --admin URL talks to a running server's admin API; --state-dir DIR
// works on a state directory directly (safe while a server uses it too). With
// neither, the default admin API (127.0.0.1:7677) is tried, then the current
// project's .outpost/state.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import { DEFAULT_STATE_DIR, KV_STATE_FILE, KvDatabase } from "../../runtime/stores/kv-database.ts";
import { INSERT_MODE_NAMES, InsertMode, keyProblem, type KvOutcome, MAX_METADATA_BYTES, MAX_VALUE_BYTES } from "../../runtime/stores/kv-limits.ts";
import { EXPIRES_HEADER, METADATA_HEADER } from "../../runtime/stores/kv-admin.ts";
import { adminBase, DEFAULT_ADMIN } from "../admin-url.ts";
import { UserError } from "../user-error.ts";

interface TargetFlags {
  admin?: string;
  stateDir?: string;
  token?: string;
}

interface Entry {
  value: Uint8Array;
  metadata: Uint8Array | null;
  generation: number;
  expiresAt: number | null;
}

interface PutOptions {
  metadata: Uint8Array | null;
  ttlSec: number | null;
  mode: InsertMode;
  ifGenerationMatch: bigint | null;
}

/** The stores of a running server (admin API) or of a state directory. */
interface Target {
  stores(): Promise<string[]>;
  /** One page of keys. */
  list(store: string, prefix: string | null, cursor: string | null): Promise<{ keys: string[]; next: string | null }>;
  get(store: string, key: string): Promise<Entry>;
  /** The key's new generation. */
  put(store: string, key: string, value: Uint8Array, options: PutOptions): Promise<number | null>;
  delete(store: string, key: string): Promise<void>;
  close(): Promise<void>;
}

/** Where `outpost serve` puts its admin API unless told otherwise. */
const PAGE = 1000;

export function kvCommand(): Command {
  const kv = new Command("kv").description("read and write the KV stores of `outpost serve` (running, or its state directory)");
  const withTarget = (command: Command) =>
    command
      .option("--admin <url>", `a running server's admin API (default: ${DEFAULT_ADMIN}, then ./${DEFAULT_STATE_DIR})`)
      .option("--state-dir <dir>", `a state directory to work on directly (outpost serve's is PROJECT/${DEFAULT_STATE_DIR})`)
      .option("--token <token>", "the server's --admin-token, sent as Fastly-Key (default: $OUTPOST_ADMIN_TOKEN)");

  kv.addCommand(
    withTarget(new Command("stores").description("list the KV stores")).action((flags: TargetFlags) =>
      withStores(flags, async (target) => {
        for (const name of await target.stores()) console.log(name);
      }),
    ),
  );

  kv.addCommand(
    withTarget(new Command("list").description("list the keys of a store").argument("<store>").option("--prefix <prefix>", "only keys that start with PREFIX").option("--json", "print a JSON array"))
      .action((store: string, flags: TargetFlags & { prefix?: string; json?: boolean }) =>
        withStores(flags, async (target) => {
          const keys: string[] = [];
          let cursor: string | null = null;
          do {
            const page = await target.list(store, flags.prefix ?? null, cursor);
            if (flags.json) keys.push(...page.keys);
            else for (const key of page.keys) console.log(key);
            cursor = page.next;
          } while (cursor !== null);
          if (flags.json) console.log(JSON.stringify(keys));
        }),
      ),
  );

  kv.addCommand(
    withTarget(new Command("get").description("print a key's value").argument("<store>").argument("<key>").option("--json", "print the entry as JSON (value, metadata, generation, expiry)"))
      .action((store: string, key: string, flags: TargetFlags & { json?: boolean }) =>
        withStores(flags, async (target) => {
          checkKey(key);
          const entry = await target.get(store, key);
          if (!flags.json) return void process.stdout.write(entry.value);
          const json: Record<string, unknown> = { key, generation: entry.generation };
          const value = utf8(entry.value);
          if (value === null) json.value_base64 = Buffer.from(entry.value).toString("base64");
          else json.value = value;
          if (entry.metadata) json.metadata = utf8(entry.metadata) ?? Buffer.from(entry.metadata).toString("base64");
          if (entry.expiresAt !== null) json.expires_at = new Date(entry.expiresAt).toISOString();
          console.log(JSON.stringify(json, null, 2));
        }),
      ),
  );

  kv.addCommand(
    withTarget(
      new Command("put")
        .description("write a key")
        .argument("<store>")
        .argument("<key>")
        .argument("[value]", "the value (or --file)")
        .option("--file <path>", "read the value from a file (- for standard input)")
        .option("--metadata <text>", "metadata to keep with the value")
        .option("--ttl <seconds>", "remove the entry after this many seconds")
        .addOption(new Option("--mode <mode>", "how to write").choices([...INSERT_MODE_NAMES]).default("overwrite"))
        .option("--if-generation-match <n>", "write only if the key is at this generation"),
    ).action((store: string, key: string, value: string | undefined, flags: TargetFlags & { file?: string; metadata?: string; ttl?: string; mode: string; ifGenerationMatch?: string }) =>
      withStores(flags, async (target) => {
        checkKey(key);
        const bytes = valueOf(value, flags.file);
        const metadata = flags.metadata === undefined ? null : new TextEncoder().encode(flags.metadata);
        if (metadata && metadata.byteLength > MAX_METADATA_BYTES) throw new UserError(`--metadata is at most ${MAX_METADATA_BYTES} bytes`);
        const ttlSec = flags.ttl === undefined ? null : Number(flags.ttl);
        if (ttlSec !== null && !(Number.isInteger(ttlSec) && ttlSec > 0 && ttlSec <= 0xffffffff)) throw new UserError(`--ttl must be a whole number of seconds above 0, got "${flags.ttl}"`);
        if (flags.ifGenerationMatch !== undefined && !/^\d+$/.test(flags.ifGenerationMatch)) {
          throw new UserError(`--if-generation-match must be a generation number, got "${flags.ifGenerationMatch}"`);
        }
        const generation = await target.put(store, key, bytes, {
          metadata,
          ttlSec,
          mode: INSERT_MODE_NAMES.indexOf(flags.mode as (typeof INSERT_MODE_NAMES)[number]) as InsertMode,
          ifGenerationMatch: flags.ifGenerationMatch === undefined ? null : BigInt(flags.ifGenerationMatch),
        });
        console.error(`wrote ${store}/${key} (${bytes.byteLength} bytes${generation === null ? "" : `, generation ${generation}`})`);
      }),
    ),
  );

  kv.addCommand(
    withTarget(new Command("delete").description("delete a key").argument("<store>").argument("<key>")).action((store: string, key: string, flags: TargetFlags) =>
      withStores(flags, async (target) => {
        checkKey(key);
        await target.delete(store, key);
        console.error(`deleted ${store}/${key}`);
      }),
    ),
  );
  return kv;
}

async function withStores(flags: TargetFlags, work: (target: Target) => Promise<void>): Promise<void> {
  const target = await chooseTarget(flags);
  try {
    await work(target);
  } finally {
    await target.close();
  }
}

async function chooseTarget(flags: TargetFlags): Promise<Target> {
  if (flags.admin !== undefined && flags.stateDir !== undefined) throw new UserError("give --admin or --state-dir, not both");
  const token = flags.token ?? process.env.OUTPOST_ADMIN_TOKEN;
  if (flags.stateDir !== undefined) return stateTarget(resolve(flags.stateDir));
  if (flags.admin !== undefined) return adminTarget(adminBase(flags.admin), token);
  // Neither: a server on the default address, else the project's own state directory.
  const admin = adminTarget(DEFAULT_ADMIN, token);
  if (await admin.reachable()) return admin;
  const local = resolve(DEFAULT_STATE_DIR);
  if (!existsSync(join(local, KV_STATE_FILE))) throw refused(DEFAULT_ADMIN);
  console.error(`note: no server at ${DEFAULT_ADMIN}; using the state directory ${local}`);
  return stateTarget(local);
}

function stateTarget(dir: string): Target {
  let kv: KvDatabase | null;
  try {
    kv = KvDatabase.openExisting(dir);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  if (!kv) {
    throw new UserError(
      `no KV stores in ${dir}: \`outpost serve\` keeps them there for a project whose fastly.toml declares [local_server.kv_stores] (pass the directory it used with --state-dir)`,
    );
  }
  const db = kv;
  const store = (name: string) => {
    if (!db.hasStore(name)) throw new UserError(`no KV store "${name}" in ${dir} (stores: ${db.storeNames().join(", ") || "none"})`);
    return name;
  };
  return {
    stores: async () => db.storeNames(),
    async list(name, prefix, cursor) {
      const page = db.list(store(name), { prefix, cursor, limit: PAGE });
      if (page === "bad_request") throw new UserError("the list cursor is not valid");
      return { keys: page.keys, next: page.nextCursor };
    },
    async get(name, key) {
      const entry = db.lookup(store(name), key);
      if (!entry) throw new UserError(`no key "${key}" in KV store "${name}"`);
      return entry;
    },
    async put(name, key, value, options) {
      const outcome = await db.insert(store(name), key, value, options);
      if (outcome !== "ok") throw new UserError(refusal(outcome, name, key, options.mode));
      return db.lookup(name, key)?.generation ?? null;
    },
    async delete(name, key) {
      const outcome = await db.delete(store(name), key);
      if (outcome !== "ok") throw new UserError(refusal(outcome, name, key, InsertMode.OVERWRITE));
    },
    close: () => db.close(),
  };
}

interface AdminTarget extends Target {
  /** Whether the admin API answers (false: nothing listens there). */
  reachable(): Promise<boolean>;
}

function refused(base: string): UserError {
  return new UserError(
    `no Outpost admin API at ${base} (connection refused): is \`outpost serve\` running? ` +
      `Point --admin at its admin API, or work on a stopped server's stores with --state-dir (serve keeps them in PROJECT/${DEFAULT_STATE_DIR})`,
  );
}

function errorCode(error: unknown): string | undefined {
  return ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
}

function adminTarget(base: string, token: string | undefined): AdminTarget {
  const root = `${base}/resources/stores/kv`;
  const keyUrl = (store: string, key: string) => `${root}/${encodeURIComponent(store)}/keys/${encodeURIComponent(key)}`;
  const call = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (token) headers.set("fastly-key", token);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      const code = errorCode(error);
      if (code === "ECONNREFUSED") throw refused(base);
      const reason = (error as Error).name === "TimeoutError" ? "no answer within 30 s" : (code ?? (error as Error).message);
      throw new UserError(`cannot reach the admin API at ${base}: ${reason}`);
    }
    if (response.ok) return response;
    if (response.status === 401) {
      throw new UserError(`the admin API at ${base} ${token ? "refused the token" : "requires a token"}: pass the server's --admin-token with --token or OUTPOST_ADMIN_TOKEN`);
    }
    const body = (await response.json().catch(() => null)) as { msg?: string; detail?: string } | null;
    if (response.status === 404 && body?.msg === "Not found" && !body.detail?.startsWith("no key")) {
      throw new UserError(`the admin API at ${base} has no KV routes (is it an older outpost serve?)`);
    }
    throw new UserError(body?.detail ?? body?.msg ?? `the admin API at ${base} answered ${response.status}`);
  };
  return {
    async reachable() {
      try {
        await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) }).then((response) => response.body?.cancel());
        return true;
      } catch (error) {
        if (errorCode(error) === "ECONNREFUSED") return false;
        throw new UserError(`cannot reach the admin API at ${base}: ${errorCode(error) ?? (error as Error).message}`);
      }
    },
    async stores() {
      const body = (await (await call(root)).json()) as { data: { name: string }[] };
      return body.data.map((store) => store.name);
    },
    async list(store, prefix, cursor) {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (prefix !== null) query.set("prefix", prefix);
      if (cursor !== null) query.set("cursor", cursor);
      const body = (await (await call(`${root}/${encodeURIComponent(store)}/keys?${query}`)).json()) as { data: string[]; meta: { next_cursor?: string } };
      return { keys: body.data, next: body.meta.next_cursor ?? null };
    },
    async get(store, key) {
      const response = await call(keyUrl(store, key));
      const metadata = response.headers.get(METADATA_HEADER);
      const expires = response.headers.get(EXPIRES_HEADER);
      return {
        value: new Uint8Array(await response.arrayBuffer()),
        metadata: metadata === null ? null : Buffer.from(metadata, "base64"),
        generation: Number(response.headers.get("generation")),
        expiresAt: expires === null ? null : Date.parse(expires),
      };
    },
    async put(store, key, value, options) {
      const query = new URLSearchParams();
      if (options.metadata) query.set("metadata", Buffer.from(options.metadata).toString("utf8"));
      if (options.ttlSec !== null) query.set("ttl", String(options.ttlSec));
      if (options.mode !== InsertMode.OVERWRITE) query.set("mode", INSERT_MODE_NAMES[options.mode]);
      if (options.ifGenerationMatch !== null) query.set("if_generation_match", String(options.ifGenerationMatch));
      const response = await call(`${keyUrl(store, key)}${query.size > 0 ? `?${query}` : ""}`, { method: "PUT", body: Buffer.from(value) });
      return ((await response.json()) as { generation: number | null }).generation;
    },
    async delete(store, key) {
      await call(keyUrl(store, key), { method: "DELETE" });
    },
    close: async () => {},
  };
}


function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new UserError(`invalid key "${key}": ${problem}`);
}

function valueOf(value: string | undefined, file: string | undefined): Uint8Array {
  if (value !== undefined && file !== undefined) throw new UserError("give the value as an argument or with --file, not both");
  let bytes: Uint8Array;
  if (file !== undefined) {
    try {
      bytes = readFileSync(file === "-" ? 0 : file);
    } catch (error) {
      throw new UserError(`--file ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
    }
  } else if (value !== undefined) {
    bytes = new TextEncoder().encode(value);
  } else {
    throw new UserError("give the value: outpost kv put STORE KEY VALUE, or --file PATH (- for standard input)");
  }
  if (bytes.byteLength > MAX_VALUE_BYTES) throw new UserError(`the value is ${bytes.byteLength} bytes; a KV value is at most ${MAX_VALUE_BYTES}`);
  return bytes;
}

function refusal(outcome: Exclude<KvOutcome, "ok">, store: string, key: string, mode: InsertMode): string {
  switch (outcome) {
    case "not_found":
      return `no key "${key}" in KV store "${store}"`;
    case "precondition_failed":
      return mode === InsertMode.ADD ? `"${key}" already exists in KV store "${store}" (--mode add)` : `"${key}" is not at that generation`;
    case "payload_too_large":
      return `the value would be larger than ${MAX_VALUE_BYTES} bytes`;
    case "bad_request":
      return "the request is not valid";
    case "internal_error":
      return "the write could not be stored";
    default: {
      const never: never = outcome;
      return String(never);
    }
  }
}

function utf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
