// The report of `npm run bench`: the peer comparison as a Markdown table, as
// JSON, and as an SVG horizontal bar chart of the req/s ratios, written to
// bench/results/report.{md,json,svg}. Pure functions of the data (tested in
// test/bench/report.test.ts), and one that writes the files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmt, markdownTable, ratio } from "./lib.ts";
import type { TargetResult } from "./targets.ts";

export interface PeerGroup {
  id: string;
  /** "hello", "cache hit, 2 B", ... */
  title: string;
}

export interface PeerRow {
  id: string;
  group: string;
  name: string;
  /** The contender's version, when it says (Varnish 7.1.1, nginx/1.22.1, ...). */
  version?: string;
  /** The row every other row of its group is divided by. */
  baseline: boolean;
  /** Why it was not measured (not installed, did not start, answered wrongly), or null. */
  skipped: string | null;
  /** Completed 2xx responses per second over the measured time. */
  rps: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  rpsRatio: number | null;
  p50Ratio: number | null;
  p99Ratio: number | null;
  /** req/s of each round: how much the background load drifted. */
  roundRps: number[];
  requests: number;
  /** Non-2xx responses, errors, timeouts, responses too short to hold the body. */
  failed: number;
  /** Origin requests for the row's URL over the run (cache rows: 1 when every measured response was a hit). */
  originRequests: number | null;
  target: TargetResult | null;
  /** Failed checks. */
  problems: string[];
}

export interface ReportSection {
  /** The benchmark's name (as for --only). */
  name: string;
  title: string;
  markdown: string;
}

export interface PeerReport {
  benchmark: "peers";
  date: string;
  node: string;
  cores: number;
  cpu: string;
  /** 1-minute load average when the run started and when it ended. */
  load: { start: number; end: number };
  /** Wall time of the whole run, in seconds. */
  seconds: number;
  settings: { duration: number; warmup: number; connections: number; rounds: number; maxRequestsPerTurn: number; loadGenerator: string };
  groups: PeerGroup[];
  rows: PeerRow[];
  notes: string[];
  failures: string[];
  /** The other benchmarks of the same run, as Markdown. */
  sections: ReportSection[];
}

const num = (value: number | null, digits = 0) => (value === null ? "–" : fmt(value, digits));
const times = (value: number | null, base: number | null) => (value === null || base === null ? "–" : ratio(value, base));

function met(row: PeerRow): string {
  if (!row.target) return "–";
  if (row.target.met === null) return `? (${row.target.why ?? "not measured"})`;
  const why = row.target.why ? ` (${row.target.why})` : "";
  return row.target.met ? `yes${why}` : `**no**${why}`;
}

function contender(row: PeerRow): string {
  return `${row.name}${row.version ? ` (${row.version})` : ""}`;
}

/** The table: one line per contender and test, skipped ones included. */
export function peersTable(report: PeerReport): string {
  const title = new Map(report.groups.map((g) => [g.id, g.title]));
  const rows = report.rows.map((row) => {
    const base = report.rows.find((r) => r.group === row.group && r.baseline && !r.skipped) ?? null;
    if (row.skipped) {
      return [title.get(row.group) ?? row.group, contender(row), "skipped", "", "", "", "", "", row.target?.text ?? "–", row.target ? "? (skipped)" : "–", "", "", ""];
    }
    return [
      title.get(row.group) ?? row.group,
      contender(row),
      num(row.rps),
      times(row.rps, base?.rps ?? null),
      num(row.p50Ms, 2),
      times(row.p50Ms, base?.p50Ms ?? null),
      num(row.p99Ms, 2),
      times(row.p99Ms, base?.p99Ms ?? null),
      row.target?.text ?? "–",
      met(row),
      row.roundRps.map((rps) => fmt(rps)).join(" / "),
      row.originRequests === null ? "–" : `${row.originRequests}${row.originRequests === 1 ? "" : " (!)"}`,
      String(row.failed),
    ];
  });
  return markdownTable(
    ["test", "contender", "req/s", "× node", "p50 ms", "× node", "p99 ms", "× node", "target (req/s × node)", "met?", "req/s by round", "origin requests", "failed"],
    rows,
  );
}

/** The skipped rows, one entry per contender and reason (a cache skipped for both bodies is one entry). */
export function skippedContenders(report: PeerReport): { name: string; groups: string[]; note: string }[] {
  const out: { name: string; groups: string[]; note: string }[] = [];
  for (const row of report.rows) {
    if (!row.skipped) continue;
    const title = report.groups.find((g) => g.id === row.group)?.title ?? row.group;
    const same = out.find((skip) => skip.name === row.name && skip.note === row.skipped);
    if (same) same.groups.push(title);
    else out.push({ name: row.name, groups: [title], note: row.skipped });
  }
  return out;
}

export function reportMarkdown(report: PeerReport): string {
  const s = report.settings;
  const lines = [
    "# Outpost benchmarks",
    "",
    `${report.date} · Node ${report.node} · ${report.cores} cores (${report.cpu}) · load average ${report.load.start} at the start, ${report.load.end} at the end · ${fmt(report.seconds)} s in all`,
    "",
    "## Against the peers",
    "",
    `Every contender runs on loopback in a process of its own; autocannon (in the benchmark's process) drives each with ${s.connections} connections, ` +
      `no pipelining, ${s.warmup} s of warm-up (discarded) and ${s.duration} s measured per row, in ${s.rounds} interleaved round${s.rounds === 1 ? "" : "s"} ` +
      `(every row takes a turn in every round, so that drifting background load weighs on every row alike). ` +
      `The × columns are ratios to bare node:http measured in the same run: the node:http hello for the hello rows, ` +
      `node:http serving the same body for the cache-hit rows (for latency, lower is better). Targets apply to the req/s ratio.`,
    "",
    peersTable(report),
    "",
  ];
  const skipped = skippedContenders(report);
  if (skipped.length > 0) {
    lines.push("Skipped:", "");
    for (const skip of skipped) lines.push(`- ${skip.name} (${skip.groups.join("; ")}): ${skip.note}`);
    lines.push("");
  }
  for (const note of report.notes) lines.push(`${note}`, "");
  for (const failure of report.failures) lines.push(`FAILED CHECK: ${failure}`, "");
  lines.push("![req/s as a ratio to node:http](report.svg)", "");
  for (const section of report.sections) lines.push(`## ${section.title}`, "", section.markdown.trim(), "");
  return lines.join("\n");
}

const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);

const COLORS = { baseline: "#9e9e9e", met: "#2e7d32", missed: "#c62828", unknown: "#f9a825", none: "#1565c0" };

function barColor(row: PeerRow): string {
  if (row.baseline) return COLORS.baseline;
  if (!row.target) return COLORS.none;
  if (row.target.met === null) return COLORS.unknown;
  return row.target.met ? COLORS.met : COLORS.missed;
}

/** Text over the grid and target lines, on a white box of about its width (12 px type: ~7 px a character). */
function haloText(cls: string, x: number, y: number, text: string): string[] {
  const box = `<rect x="${(x - 2).toFixed(1)}" y="${y - 10}" width="${text.length * 7 + 4}" height="13" fill="#fff" fill-opacity="0.85"/>`;
  return [box, `<text class="${cls}" x="${x.toFixed(1)}" y="${y}">${escapeXml(text)}</text>`];
}

/** A horizontal bar chart of each row's req/s ratio to node:http, grouped by test, with the targets marked. */
export function reportSvg(report: PeerReport): string {
  const label = 310;
  const plot = 560;
  const right = 130;
  const width = label + plot + right;
  const rowHeight = 22;
  const top = 56;
  const minTarget = (row: PeerRow) => row.target?.minRpsRatio ?? NaN;
  const ratios = report.rows.flatMap((row) => [row.rpsRatio ?? 0, minTarget(row) || 0]);
  // A round scale that shows 1× (node:http) and every bar.
  const max = Math.max(1.2, ...ratios.map((r) => r * 1.05));
  const step = max <= 2 ? 0.2 : max <= 5 ? 0.5 : Math.ceil(max / 10);
  const scaleMax = Math.ceil(max / step) * step;
  const x = (r: number) => label + (Math.min(r, scaleMax) / scaleMax) * plot;

  const body: string[] = [];
  let y = top;
  for (const group of report.groups) {
    const rows = report.rows.filter((row) => row.group === group.id);
    if (rows.length === 0) continue;
    body.push(`<text class="group" x="8" y="${y + 15}">${escapeXml(group.title)}</text>`);
    y += rowHeight;
    for (const row of rows) {
      const mid = y + rowHeight / 2;
      body.push(`<text class="label" x="${label - 8}" y="${mid + 4}" text-anchor="end">${escapeXml(row.name)}</text>`);
      const target = minTarget(row);
      // The target's mark goes under the bar's label, over the bar.
      const mark = Number.isFinite(target)
        ? `<line class="target" x1="${x(target).toFixed(1)}" x2="${x(target).toFixed(1)}" y1="${y - 1}" y2="${y + rowHeight + 1}"><title>target ${escapeXml(row.target!.text)}</title></line>`
        : "";
      if (row.skipped || row.rpsRatio === null) {
        body.push(mark, ...haloText("skipped", label + 4, mid + 4, "skipped"));
      } else {
        const w = Math.max(1, x(row.rpsRatio) - label);
        body.push(`<rect class="bar" x="${label}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${barColor(row)}"><title>${escapeXml(`${row.name}: ${fmt(row.rps ?? NaN)} req/s, ${ratio(row.rpsRatio, 1)} node:http`)}</title></rect>`);
        body.push(mark);
        body.push(...haloText("value", label + w + 4, mid + 4, `${ratio(row.rpsRatio, 1)} (${fmt(row.rps ?? NaN)}/s)`));
      }
      y += rowHeight;
    }
    y += 6;
  }
  const bottom = y;
  const grid: string[] = [];
  for (let r = 0; r <= scaleMax + 1e-9; r += step) {
    const gx = x(r).toFixed(1);
    grid.push(`<line class="${Math.abs(r - 1) < 1e-9 ? "one" : "grid"}" x1="${gx}" x2="${gx}" y1="${top - 6}" y2="${bottom}"/>`);
    grid.push(`<text class="tick" x="${gx}" y="${top - 10}" text-anchor="middle">${Number(r.toFixed(2))}×</text>`);
  }
  const legendY = bottom + 22;
  const legend = [
    [COLORS.met, "target met"],
    [COLORS.missed, "target missed"],
    [COLORS.unknown, "target: not judged"],
    [COLORS.none, "no target"],
    [COLORS.baseline, "node:http (baseline)"],
  ]
    .map(([color, text], i) => `<rect x="${8 + i * 140}" y="${legendY - 9}" width="10" height="10" fill="${color}"/><text class="legend" x="${8 + i * 140 + 14}" y="${legendY}">${text}</text>`)
    .join("");
  const height = legendY + 24;
  const title = `req/s as a ratio to bare node:http in the same run (${report.date.slice(0, 16).replace("T", " ")} UTC, Node ${report.node}, ${report.cores} cores)`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">
<style>
.title { font-size: 14px; font-weight: 600; }
.group { font-weight: 600; }
.grid { stroke: #e0e0e0; }
.one { stroke: #424242; stroke-width: 1.5; }
.tick, .legend { fill: #616161; font-size: 11px; }
.skipped { fill: #9e9e9e; font-style: italic; }
.target { stroke: #000; stroke-width: 2.5; stroke-dasharray: 4 2; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text class="title" x="8" y="20">${escapeXml(title)}</text>
${grid.join("\n")}
${body.join("\n")}
<line class="target" x1="${8 + 5 * 140 + 4}" x2="${8 + 5 * 140 + 4}" y1="${legendY - 10}" y2="${legendY + 2}"/><text class="legend" x="${8 + 5 * 140 + 10}" y="${legendY}">target (req/s × node)</text>
${legend}
</svg>
`;
}

/** Writes report.md, report.json and report.svg to `dir`; returns their paths. */
export function writeReport(report: PeerReport, dir: string): { md: string; json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { md: join(dir, "report.md"), json: join(dir, "report.json"), svg: join(dir, "report.svg") };
  writeFileSync(paths.md, reportMarkdown(report));
  writeFileSync(paths.json, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(paths.svg, reportSvg(report));
  return paths;
}
