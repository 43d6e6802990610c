// `[local_server.acls]`: the ACLs guests open with `fastly_acl`, each read
// from a JSON file in the shape of the platform's ACL API, as the reference
// emulator reads them:
//
//   [local_server.acls]
//   blocklist = "blocklist.json"          # or blocklist = { file = "blocklist.json" }
//
//   {"entries": [{"op": "create", "prefix": "192.0.2.0/24", "action": "BLOCK"}, ...]}
//
// Entries apply in order, as a batch update would: `create` and `update` set
// a prefix's action (a later entry for the same prefix wins), `delete` drops
// it. A prefix written with host bits set (192.0.2.7/24) is read as its
// network (192.0.2.0/24), as the reference emulator does, with a warning:
// lookups report the network. Prefix lengths run from 0 to 32 or 128, the
// platform's range. Anything else wrong stops the start with a message
// naming the ACL, the file and the entry.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Acl, type AclAction, AclBuilder, type AclsData, type Cidr, parseCidr } from "../stores/acl.ts";
import { checkKeys, ConfigError, describeValue, isTable, suggest } from "./config-error.ts";
import { type StoreManifest, tomlKey } from "./config-stores.ts";

const ACTIONS: readonly AclAction[] = ["ALLOW", "BLOCK"];
const OPS = ["create", "update", "delete"];
const ENTRY_KEYS = ["op", "prefix", "action"];
/** `meta` is part of what the platform's API lists, so a saved listing reads as is. */
const FILE_KEYS = ["entries", "meta"];
const SHAPE = `{"entries": [{"op": "create", "prefix": "192.0.2.0/24", "action": "BLOCK"}]}`;

/** Reads every ACL of the manifest; `warn` hears of entries read in a way the file may not mean. */
export function parseAcls(manifest: StoreManifest, warn: (message: string) => void): AclsData {
  const value = manifest.localServer.acls;
  const file = manifest.path ?? "fastly.toml";
  if (value === undefined) return {};
  if (!isTable(value)) throw new ConfigError(`${file}: [local_server.acls] must be a table of ACLs (name = "file.json"), got ${describeValue(value)}`);
  const acls: AclsData = {};
  for (const [name, definition] of Object.entries(value)) {
    const where = `${file}: local_server.acls.${tomlKey(name)}`;
    if (!name) throw new ConfigError(`${file}: [local_server.acls] has an ACL with an empty name`);
    const path = aclFile(definition, where);
    acls[name] = readAcl(path, `${where} ("${path}")`, manifest.dir, warn);
  }
  return acls;
}

function aclFile(definition: unknown, where: string): string {
  if (typeof definition === "string" && definition) return definition;
  if (isTable(definition)) {
    checkKeys(definition, ["file"], where);
    if (typeof definition.file === "string" && definition.file) return definition.file;
  }
  throw new ConfigError(`${where} must name its JSON file: ACL = "acl.json" or ACL = { file = "acl.json" }`);
}

function readAcl(path: string, where: string, dir: string, warn: (message: string) => void): Acl {
  const full = resolve(dir, path);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file; relative paths start at the directory of fastly.toml" : (code ?? "unreadable");
    throw new ConfigError(`${where}: cannot read ${full}: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isTable(json) || !Array.isArray(json.entries)) throw new ConfigError(`${where} must hold a JSON object such as ${SHAPE}`);
  checkKeys(json, FILE_KEYS, where);
  const acl = new AclBuilder();
  /** Normalized prefix -> the entry that set it, for messages. */
  const setBy = new Map<string, string>();
  json.entries.forEach((entry, index) => {
    const at = `${where}: entries[${index}]`;
    if (!isTable(entry)) throw new ConfigError(`${at} must be an object such as {"prefix": "192.0.2.0/24", "action": "BLOCK"}`);
    checkKeys(entry, ENTRY_KEYS, at);
    const cidr = prefixOf(entry.prefix, at);
    const named = `${at} ("${entry.prefix}")`;
    const op = opOf(entry.op, named);
    if (cidr.hostBits) warn(`${named} has bits set past its prefix length: read as ${cidr.text}, which lookups report`);
    if (op === "delete") {
      if (!acl.delete(cidr)) warn(`${named} deletes ${cidr.text}, which no earlier entry adds: ignored`);
      setBy.delete(cidr.text);
      return;
    }
    const earlier = setBy.get(cidr.text);
    if (earlier && op === "create") warn(`${named} creates ${cidr.text} again (${earlier} did): the later entry wins`);
    acl.set(cidr, actionOf(entry.action, named));
    setBy.set(cidr.text, `entries[${index}]`);
  });
  return acl.build();
}

function prefixOf(value: unknown, at: string): Cidr {
  if (typeof value !== "string") {
    throw new ConfigError(`${at}: ${value === undefined ? `missing "prefix"` : `"prefix" must be a string`} (an address and prefix length, such as "192.0.2.0/24")`);
  }
  const cidr = parseCidr(value.trim());
  if (typeof cidr === "string") throw new ConfigError(`${at}: prefix "${value}": ${cidr}`);
  return cidr;
}

function opOf(value: unknown, at: string): string {
  // The reference emulator ignores `op`; an entry without one adds its prefix.
  if (value === undefined) return "create";
  const op = typeof value === "string" ? value.toLowerCase() : null;
  if (op === null || !OPS.includes(op)) {
    const hint = typeof value === "string" ? suggest(value, OPS) : ` (expected one of: ${OPS.join(", ")})`;
    throw new ConfigError(`${at}: unknown op ${describeJson(value)}${hint}`);
  }
  return op;
}

function actionOf(value: unknown, at: string): AclAction {
  if (value === undefined) throw new ConfigError(`${at}: missing "action" ("ALLOW" or "BLOCK")`);
  const action = typeof value === "string" ? value.toUpperCase() : null;
  if (!ACTIONS.includes(action as AclAction)) throw new ConfigError(`${at}: the action must be "ALLOW" or "BLOCK", got ${describeJson(value)}`);
  return action as AclAction;
}

function describeJson(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
