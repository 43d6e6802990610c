// The contenders of the peer comparison (bench/peers.ts): what each server is,
// how it is prepared and started, and which rows of the report it answers.
// `prepare` builds or installs what a server needs (before anything is
// timed); `prepare` or `start` throwing makes every row of that server a skip
// with the error as its note, never a failure of the run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheProxy, EXPECTED_BODY, jsHello, jsReusableHello, ROOT, startServerProcess, watHello } from "../lib.ts";
import type { TargetSpec } from "../targets.ts";
import { findNginx, NGINX_MISSING, nginxHit, startNginx } from "./nginx.ts";
import { startNoCode } from "./no-code.ts";
import { assemblyScriptHello, rustHello } from "./sdk-guests.ts";
import { findVarnishd, startVarnish, VARNISH_MISSING, varnishHit } from "./varnish.ts";
import { ensureWorkerd, startWorkerd } from "./workerd.ts";

export const GROUPS = [
  { id: "hello", title: "hello" },
  { id: "cache-2b", title: "cache hit, 2 B" },
  { id: "cache-10k", title: "cache hit, 10 KiB" },
] as const;
export type GroupId = (typeof GROUPS)[number]["id"];

/** The bodies of bench/server.ts `origin`, by the last path segment. */
const BODIES = [
  { group: "cache-2b", segment: "2b", bytes: 2 },
  { group: "cache-10k", segment: "10k", bytes: 10 * 1024 },
] as const;

export interface Started {
  url: string;
  version?: string;
  stop(): Promise<void>;
}

export interface RowSpec {
  id: string;
  group: GroupId;
  name: string;
  /** Path requested on the server. */
  path: string;
  baseline?: boolean;
  /** The answer every request must get: status 200 and this body (or at least this many bytes). */
  body?: string;
  bytes: number;
  /** For caches: whether a response was served from the cache. */
  hit?: (headers: Headers) => boolean;
  target?: TargetSpec;
}

export interface ServerSpec {
  id: string;
  name: string;
  rows: RowSpec[];
  /** Builds or installs what the server needs; throws the reason to skip it. Returns what `start` takes. */
  prepare(): Promise<unknown>;
  start(prepared: unknown, ctx: { originUrl: string }): Promise<Started>;
}

const SDK_HELLO_BODY = "Hello, world!\n";
const outpostHit = (headers: Headers) => headers.get("x-cache") === "HIT";

function hello(id: string, name: string, extra: Partial<RowSpec> = {}): RowSpec {
  return { id, group: "hello", name, path: "/", body: EXPECTED_BODY, bytes: Buffer.byteLength(extra.body ?? EXPECTED_BODY), ...extra };
}

/** One row per body for a server in front of the origin; its URLs are its own at the origin (/SERVER/2b). */
function cacheRows(server: string, name: string, extra: Partial<RowSpec> = {}): RowSpec[] {
  return BODIES.map((body) => ({ id: `${server}-${body.segment}`, group: body.group, name, path: `/${server}/${body.segment}`, bytes: body.bytes, ...extra }));
}

function versionOf(pkg: string): string {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
}

const WORKERD_HELLO = { id: "workerd-hello", name: "workerd hello" };

export function servers(): ServerSpec[] {
  const executable = (find: () => string | null, missing: string) => async () => {
    const path = find();
    if (!path) throw new Error(missing);
    return path;
  };
  return [
    {
      id: "node-hello",
      name: "node:http hello",
      rows: [hello("node-hello", "node:http (baseline)", { baseline: true })],
      prepare: async () => null,
      start: () => startServerProcess(["node"]),
    },
    {
      id: "hono",
      name: "hono",
      rows: [hello("hono-hello", "hono on @hono/node-server")],
      prepare: async () => `hono ${versionOf("hono")}, @hono/node-server ${versionOf("@hono/node-server")}`,
      start: async (version) => ({ ...(await startServerProcess(["hono"])), version: version as string }),
    },
    {
      id: "outpost-wat",
      name: "Outpost, WAT hello",
      rows: [hello("outpost-wat-hello", "Outpost, WAT hello", { target: { minRpsRatio: 0.6 } })],
      prepare: () => watHello(),
      start: (wasm) => startServerProcess(["outpost", wasm as string]),
    },
    {
      id: "outpost-as",
      name: "Outpost, AssemblyScript hello",
      rows: [hello("outpost-as-hello", "Outpost, AssemblyScript hello", { body: SDK_HELLO_BODY, target: { minRpsRatio: 0.6 } })],
      prepare: () => assemblyScriptHello(),
      start: (built) => {
        const { wasm, manifest } = built as Awaited<ReturnType<typeof assemblyScriptHello>>;
        return startServerProcess(["outpost", wasm, "-", manifest]);
      },
    },
    {
      id: "outpost-rust",
      name: "Outpost, Rust hello",
      rows: [hello("outpost-rust-hello", "Outpost, Rust hello", { body: SDK_HELLO_BODY })],
      prepare: () => rustHello(),
      start: (built) => {
        const { wasm, manifest } = built as Awaited<ReturnType<typeof rustHello>>;
        return startServerProcess(["outpost", wasm, "-", manifest]);
      },
    },
    {
      id: "outpost-js",
      name: "Outpost, js-compute hello",
      rows: [hello("outpost-js-hello", "Outpost, js-compute hello", { target: { minRpsRatio: 0.25 } })],
      prepare: () => jsHello(),
      start: (wasm) => startServerProcess(["outpost", wasm as string], 60_000),
    },
    {
      id: "outpost-js-reusable",
      name: "Outpost, js-compute hello, reusable sandbox",
      rows: [hello("outpost-js-reusable-hello", "Outpost, js-compute hello (reusable sandbox)", { target: { minRpsRatio: 0.25 } })],
      prepare: () => jsReusableHello(),
      start: (wasm) => startServerProcess(["outpost", wasm as string], 60_000),
    },
    {
      id: "workerd",
      name: "workerd",
      rows: [hello(WORKERD_HELLO.id, WORKERD_HELLO.name)],
      prepare: async () => {
        const binary = await ensureWorkerd();
        if (!binary) throw new Error("left out with BENCH_WORKERD=none");
        return binary;
      },
      start: (binary) => startWorkerd(binary as string),
    },
    {
      id: "node",
      name: "node:http serving the bodies",
      rows: cacheRows("node", "node:http (baseline)", { baseline: true }),
      prepare: async () => null,
      start: () => startServerProcess(["origin"]),
    },
    {
      id: "outpost",
      name: "Outpost, passthrough guest",
      rows: cacheRows("outpost", "Outpost, passthrough guest (cache-proxy.wat)", { hit: outpostHit, target: { minRpsRatio: 0.5 } }),
      prepare: () => cacheProxy(),
      start: (wasm, { originUrl }) => startServerProcess(["outpost", wasm as string, "-", `origin=${originUrl}`]),
    },
    {
      id: "nocode",
      name: "Outpost no-code service",
      rows: cacheRows("nocode", "Outpost no-code (serve --origin)", { hit: outpostHit, target: { minRpsRatio: 0.8, aheadOf: WORKERD_HELLO } }),
      prepare: async () => null,
      start: (_, { originUrl }) => startNoCode(`${originUrl}/`),
    },
    {
      id: "varnish",
      name: "Varnish",
      rows: cacheRows("varnish", "Varnish", { hit: varnishHit }),
      prepare: executable(findVarnishd, VARNISH_MISSING),
      start: (varnishd, { originUrl }) => startVarnish(varnishd as string, originUrl),
    },
    {
      id: "nginx",
      name: "nginx proxy_cache",
      rows: cacheRows("nginx", "nginx proxy_cache", { hit: nginxHit }),
      prepare: executable(findNginx, NGINX_MISSING),
      start: (nginx, { originUrl }) => startNginx(nginx as string, originUrl),
    },
  ];
}
