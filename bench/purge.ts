// Purging by surrogate key in a CacheStore (runtime/cache/store.ts) holding
// 1,000,000 objects, compared with the same purges in a store of 10,000: the
// store keeps a reverse index from keys to objects, so a purge should cost
// the same whatever else the cache holds, in proportion to what it purges.
// Also: what the million objects cost in memory, against what the store's
// byte budget counts for them.
//
// Objects are made directly (no HTTP), as the readthrough cache makes them
// from a small origin response (5 headers, a 2-byte body in its own buffer).
// Object i carries three keys, matching 1, 100 and 10,000 objects:
// `one-<i>`, `hundred-<i mod N/100>` and `tenk-<i mod N/10,000>`.
// Each purge is timed alone; the purged objects are then put back (hard
// purge: reinserted; soft purge: made fresh again), untimed, so that every
// purge finds its objects. Keys are picked at random.
//
// Runs in a child process with a fresh heap, `--expose-gc` (to measure
// memory after a full collection) and room for the million objects.
//
//   node bench/purge.ts [--budget-ms=1500]
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import { Headers } from "../runtime/session/headers.ts";
import { GrowingBody } from "../runtime/cache/growing-body.ts";
import { type Freshness, lifetimes } from "../runtime/cache/policy.ts";
import { type CacheObject, CacheStore } from "../runtime/cache/store.ts";
import { fmt, machine, markdownTable, requireNode24, summarize, trackChild, writeResult } from "./lib.ts";

export interface PurgeOptions {
  /** Time spent on each series of purges (one kind, one group size, one store size). */
  budgetMs: number;
}

export const DEFAULT_PURGE: PurgeOptions = { budgetMs: 1500 };

const SIZES = [10_000, 1_000_000];
const GROUPS = [
  { name: "one", matches: 1, maxSamples: 5_000 },
  { name: "hundred", matches: 100, maxSamples: 2_000 },
  { name: "tenk", matches: 10_000, maxSamples: 200 },
];
const MIN_SAMPLES = 10;
/** Samples of the full scan shown for comparison, at each size. */
const SCANS = 5;

interface Series {
  objects: number;
  kind: "hard" | "soft" | "scan";
  matches: number;
  samples: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
}

interface MemoryReport {
  objects: number;
  buildMs: number;
  /** Growth of the JS heap and of memory outside it (ArrayBuffers), after a full GC. */
  heapBytes: number;
  externalBytes: number;
  rssBytes: number;
  /** What the store's byte budget (lru-cache maxSize) counts for them. */
  budgetBytes: number;
}

interface ChildResult {
  series: Series[];
  memory: MemoryReport;
}

// ---- the child: builds the stores and times the purges ----

const FRESHNESS: Freshness = { initialAge: 0, lifetime: 3600, staleWhileRevalidate: 0, staleIfError: 0, noCache: false, mustRevalidate: false };

function keysOf(i: number, n: number): string[] {
  return [`one-${i}`, `hundred-${i % (n / 100)}`, `tenk-${i % (n / 10_000)}`];
}

/** An object as the readthrough cache stores it for a small cacheable response. */
function makeObject(i: number, n: number, now: number, date: string): CacheObject {
  const surrogateKeys = keysOf(i, n);
  const body = new Uint8Array(2);
  body[0] = 0x6f;
  body[1] = 0x6b;
  const life = lifetimes(FRESHNESS, now);
  return {
    primary: `http:bench.example/objects/${i}`,
    varyRule: [],
    secondary: "",
    status: 200,
    headers: Headers.fromFlat([
      "date", date,
      "content-type", "text/plain",
      "content-length", "2",
      "cache-control", "public, max-age=3600",
      "surrogate-key", surrogateKeys.join(" "),
    ]),
    body: GrowingBody.of([body]),
    userMetadata: new Uint8Array(0),
    surrogateKeys,
    freshness: FRESHNESS,
    responseTime: now,
    lifetimes: life,
    deleteAt: life.staleAt,
    hits: 0,
    declaredLength: 2,
    sensitive: false,
  };
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("bench/purge.ts: the child needs --expose-gc");
  gc();
  gc();
}

function build(n: number): { store: CacheStore; objects: CacheObject[]; buildMs: number } {
  const store = new CacheStore({ maxBytes: 2 ** 40 });
  const objects = new Array<CacheObject>(n);
  const now = Date.now();
  const date = new Date(now).toUTCString();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    objects[i] = makeObject(i, n, now, date);
    if (!store.insert(objects[i])) throw new Error(`object ${i} was not stored`);
  }
  return { store, objects, buildMs: performance.now() - started };
}

/** Times purges of random keys of one group for `budgetMs`, restoring the objects after each. */
function series(store: CacheStore, objects: CacheObject[], kind: "hard" | "soft", group: (typeof GROUPS)[number], budgetMs: number): Series {
  const n = objects.length;
  const keys = n / group.matches;
  const fresh = objects[0].lifetimes;
  const times: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (times.length < group.maxSamples && (times.length < MIN_SAMPLES || performance.now() < deadline)) {
    const k = Math.floor(Math.random() * keys);
    const t0 = performance.now();
    const purged = store.purgeSurrogateKeys([`${group.name}-${k}`], kind === "soft");
    times.push((performance.now() - t0) * 1000);
    if (purged !== group.matches) throw new Error(`purging ${group.name}-${k} purged ${purged} objects, expected ${group.matches}`);
    // Put them back (untimed): objects k, k + keys, k + 2 keys, ...
    for (let i = k; i < n; i += keys) {
      if (kind === "hard") store.insert(objects[i]);
      else objects[i].lifetimes = fresh;
    }
  }
  const s = summarize(times);
  return { objects: n, kind, matches: group.matches, samples: s.n, medianUs: s.median, p99Us: s.p99, meanUs: s.mean };
}

/**
 * For comparison: what finding the objects of one key costs without the
 * index, by looking at every object (and purging nothing).
 */
function scans(store: CacheStore, n: number): Series {
  const times: number[] = [];
  for (let i = 0; i < SCANS; i++) {
    const key = `hundred-${Math.floor(Math.random() * (n / 100))}`;
    const t0 = performance.now();
    let found = 0;
    for (const object of store.objects()) if (object.surrogateKeys.includes(key)) found++;
    times.push((performance.now() - t0) * 1000);
    if (found !== 100) throw new Error(`scanning for ${key} found ${found} objects, expected 100`);
  }
  const s = summarize(times);
  return { objects: n, kind: "scan", matches: 100, samples: s.n, medianUs: s.median, p99Us: s.p99, meanUs: s.mean };
}

function child(options: PurgeOptions): ChildResult {
  const out: Series[] = [];
  let memory: MemoryReport | undefined;
  for (const n of SIZES) {
    fullGc();
    const before = process.memoryUsage();
    const { store, objects, buildMs } = build(n);
    fullGc();
    const after = process.memoryUsage();
    if (n === SIZES[SIZES.length - 1]) {
      memory = {
        objects: n,
        buildMs,
        heapBytes: after.heapUsed - before.heapUsed,
        externalBytes: after.external - before.external,
        rssBytes: after.rss - before.rss,
        budgetBytes: store.stats().bytes,
      };
    }
    process.stderr.write(`purge: ${fmt(n)} objects stored in ${fmt(buildMs)} ms\n`);
    // Every series starts after this full GC (one: a full GC of the million objects takes seconds).
    for (const kind of ["hard", "soft"] as const) {
      for (const group of GROUPS) {
        out.push(series(store, objects, kind, group, options.budgetMs));
      }
    }
    out.push(scans(store, n));
    if (store.stats().objects !== n) throw new Error(`the store holds ${store.stats().objects} objects after the purges, expected ${n}`);
  }
  return { series: out, memory: memory! };
}

// ---- the parent: runs the child, reports ----

function runChild(options: PurgeOptions): Promise<ChildResult> {
  const proc = fork(import.meta.filename, ["--child", JSON.stringify(options)], {
    execPath: process.execPath,
    execArgv: ["--expose-gc", "--max-old-space-size=8192"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const stop = trackChild(proc);
  return new Promise((resolve, reject) => {
    proc.once("message", (message: ChildResult) => {
      resolve(message);
      void stop();
    });
    proc.once("exit", (code, signal) => reject(new Error(`bench/purge.ts child exited (${signal ?? code}) without a result`)));
    proc.once("error", reject);
  });
}

const MiB = 1024 * 1024;

export async function runPurge(options: PurgeOptions = DEFAULT_PURGE) {
  const { series: all, memory } = await runChild(options);
  const [small, large] = SIZES;
  const rows: string[][] = [];
  for (const kind of ["hard", "soft"] as const) {
    for (const group of GROUPS) {
      const a = all.find((s) => s.kind === kind && s.matches === group.matches && s.objects === small)!;
      const b = all.find((s) => s.kind === kind && s.matches === group.matches && s.objects === large)!;
      rows.push([
        kind,
        fmt(group.matches),
        `${fmt(a.medianUs, 1)} / ${fmt(a.p99Us, 1)}`,
        `${fmt(b.medianUs, 1)} / ${fmt(b.p99Us, 1)}`,
        `${(b.medianUs / a.medianUs).toFixed(2)}×`,
        `${fmt(b.medianUs / group.matches, 2)}`,
        `${fmt(a.samples)} / ${fmt(b.samples)}`,
      ]);
    }
  }
  const scanSmall = all.find((s) => s.kind === "scan" && s.objects === small)!;
  const scanLarge = all.find((s) => s.kind === "scan" && s.objects === large)!;
  rows.push([
    "scan (no index, for comparison)",
    fmt(100),
    `${fmt(scanSmall.medianUs, 1)} / ${fmt(scanSmall.p99Us, 1)}`,
    `${fmt(scanLarge.medianUs, 1)} / ${fmt(scanLarge.p99Us, 1)}`,
    `${(scanLarge.medianUs / scanSmall.medianUs).toFixed(2)}×`,
    "–",
    `${fmt(scanSmall.samples)} / ${fmt(scanLarge.samples)}`,
  ]);
  const table = markdownTable(
    ["purge", "objects matched", `${fmt(small)} objects: median / p99 µs`, `${fmt(large)} objects: median / p99 µs`, "median ×", `µs per object (${fmt(large)})`, "purges"],
    rows,
  );
  const perObject = (bytes: number) => fmt(bytes / memory.objects);
  const memoryTable = markdownTable(
    ["objects", "stored in", "JS heap", "outside the heap", "RSS growth", "counted by the budget"],
    [
      [
        fmt(memory.objects),
        `${fmt(memory.buildMs / 1000, 1)} s`,
        `${fmt(memory.heapBytes / MiB)} MiB (${perObject(memory.heapBytes)} B each)`,
        `${fmt(memory.externalBytes / MiB)} MiB (${perObject(memory.externalBytes)} B each)`,
        `${fmt(memory.rssBytes / MiB)} MiB`,
        `${fmt(memory.budgetBytes / MiB)} MiB (${perObject(memory.budgetBytes)} B each)`,
      ],
    ],
  );
  const data = {
    benchmark: "purge",
    ...machine(),
    settings: { ...options, sizes: SIZES, keys: "object i: one-<i>, hundred-<i mod N/100>, tenk-<i mod N/10000>", body: "2 bytes, 5 headers" },
    series: all,
    memory,
  };
  const path = writeResult("purge", data);
  return { table, memoryTable, data, path };
}

const childArg = process.argv.indexOf("--child");
if (import.meta.main && childArg >= 0) {
  process.on("disconnect", () => process.exit(0));
  const result = child(JSON.parse(process.argv[childArg + 1]) as PurgeOptions);
  process.send!(result, () => process.disconnect!());
} else if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({ options: { "budget-ms": { type: "string" } } });
  const { table, memoryTable, path } = await runPurge({ budgetMs: Number(values["budget-ms"] ?? DEFAULT_PURGE.budgetMs) });
  console.log(table);
  console.log(`\n${memoryTable}`);
  console.log(`\n(${path})`);
}
