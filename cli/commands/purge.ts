// `outpost purge`: purge a running `outpost serve`'s cache through its admin
// API, by URL, by surrogate key(s) or entirely, as the platform's purge API
// does.
import { Command } from "commander";
import { adminBase, DEFAULT_ADMIN } from "../admin-url.ts";
import { UserError } from "../user-error.ts";

interface PurgeFlags {
  url?: string;
  key: string[];
  all?: boolean;
  soft?: boolean;
  admin: string;
  service: string;
  token?: string;
}

/** Where `outpost serve` puts its admin API unless told otherwise (its --admin-addr default). */

export function purgeCommand(): Command {
  return new Command("purge")
    .description("purge the cache of a running `outpost serve` (by URL, surrogate key, or everything)")
    .option("--url <url>", "purge one URL (http://host/path, or host/path)")
    .option("--key <key>", "purge the objects tagged with a surrogate key (repeat for several)", (key: string, keys: string[]) => [...keys, ...key.split(/\s+/).filter(Boolean)], [])
    .option("--all", "purge everything")
    .option("--soft", "mark objects stale instead of removing them (served stale while they revalidate)")
    .option("--admin <url>", "the server's admin API", DEFAULT_ADMIN)
    .option("--service <id>", "service id (any id reaches a local server)", "local")
    .option("--token <token>", "the server's --admin-token, sent as Fastly-Key (default: $OUTPOST_ADMIN_TOKEN)")
    .action(async (flags: PurgeFlags) => {
      const target = purgeTarget(flags);
      const admin = adminBase(flags.admin);
      const headers: Record<string, string> = {};
      const token = flags.token ?? process.env.OUTPOST_ADMIN_TOKEN;
      if (token) headers["fastly-key"] = token;
      if (flags.soft) headers["fastly-soft-purge"] = "1";
      if (target.keys && target.keys.length > 1) headers["surrogate-key"] = target.keys.join(" ");
      const response = await post(admin, target.path, headers);
      const count = Number(response.headers.get("outpost-purged") ?? NaN);
      const objects = Number.isNaN(count) ? "objects" : `${count} object${count === 1 ? "" : "s"}`;
      console.log(`${flags.soft ? "soft-purged" : "purged"} ${objects} ${target.description}`);
    });
}

interface Target {
  path: string;
  description: string;
  keys?: string[];
}

function purgeTarget(flags: PurgeFlags): Target {
  const chosen = [flags.url !== undefined, flags.key.length > 0, flags.all === true].filter(Boolean).length;
  if (chosen === 0) throw new UserError("say what to purge: --url URL, --key KEY (repeatable) or --all");
  if (chosen > 1) throw new UserError("purge one kind of thing at a time: --url, --key or --all");
  const service = encodeURIComponent(flags.service);
  if (flags.all) {
    if (flags.soft) throw new UserError("a purge-all cannot be soft (nor can it on the platform); tag objects with a common surrogate key and soft-purge that");
    return { path: `/service/${service}/purge_all`, description: "(everything)" };
  }
  if (flags.url !== undefined) {
    const hostAndPath = cachedUrl(flags.url);
    return { path: `/purge/${hostAndPath}`, description: `at ${hostAndPath}` };
  }
  const keys = flags.key;
  const path = keys.length === 1 ? `/service/${service}/purge/${encodeURIComponent(keys[0])}` : `/service/${service}/purge`;
  return { path, description: `tagged ${keys.join(", ")}`, keys };
}

/** A URL as the cache keys it: host (lower case) then path and query. */
function cachedUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UserError(`--url: "${url}" is not a valid URL`);
    }
    return parsed.host + parsed.pathname + parsed.search;
  }
  if (url.startsWith("/") || url === "") throw new UserError(`--url needs a host, as in http://127.0.0.1:7676${url || "/"}`);
  const slash = url.search(/[/?]/);
  return slash < 0 ? `${url.toLowerCase()}/` : url.slice(0, slash).toLowerCase() + (url[slash] === "?" ? "/" : "") + url.slice(slash);
}


async function post(admin: string, path: string, headers: Record<string, string>): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(admin + path, { method: "POST", headers, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ECONNREFUSED") {
      throw new UserError(
        `no Outpost admin API at ${admin} (connection refused): is \`outpost serve\` running? ` +
          `Start it with \`outpost serve\` (its admin API listens on 127.0.0.1:7677 unless --admin-addr says otherwise), or point --admin at it`,
      );
    }
    const reason = (error as Error).name === "TimeoutError" ? "no answer within 15 s" : (code ?? (error as Error).message);
    throw new UserError(`cannot reach the admin API at ${admin}: ${reason}`);
  }
  if (response.status === 401) {
    throw new UserError(
      headers["fastly-key"]
        ? `the admin API at ${admin} refused the token: pass the server's --admin-token with --token or OUTPOST_ADMIN_TOKEN`
        : `the admin API at ${admin} requires a token: pass the server's --admin-token with --token or OUTPOST_ADMIN_TOKEN`,
    );
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { msg?: string; detail?: string } | null;
    const why = body?.msg ? `${body.msg}${body.detail ? ` (${body.detail})` : ""}` : response.statusText;
    throw new UserError(`the admin API at ${admin} answered ${response.status}: ${why}`);
  }
  await response.body?.cancel();
  return response;
}
