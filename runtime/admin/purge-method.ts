// The platform's `PURGE` method on the serving address: `curl -X PURGE
// http://host/path` purges that URL (its host from the Host header) before
// any guest runs, soft with `Fastly-Soft-Purge: 1`.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readthrough } from "../cache/readthrough.ts";
import { presentedToken, tokenMatches, UNAUTHORIZED } from "./auth.ts";
import { PURGED_HEADER } from "./admin-api.ts";
import { isSoftPurge, purgeId, urlPurgeKey } from "./purge-target.ts";

export function purgeMethodHandler(cache: Readthrough, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    if (token !== undefined && !tokenMatches(presentedToken(req.headers["fastly-key"], req.headers.authorization), token)) {
      return answer(res, 401, UNAUTHORIZED);
    }
    const target = req.url ?? "/";
    // Origin form ("/path") takes its host from the Host header; absolute form carries its own.
    const key = urlPurgeKey(target.startsWith("/") ? `${req.headers.host ?? ""}${target}` : target);
    if (!key) return answer(res, 400, { msg: "No host to purge", detail: "send a Host header" });
    const count = cache.purgeUrl(key, isSoftPurge(req.headers["fastly-soft-purge"]));
    answer(res, 200, { status: "ok", id: purgeId(), purged: count }, { [PURGED_HEADER]: String(count) });
  };
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
