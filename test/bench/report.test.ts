// The benchmark report (bench/report.ts, bench/targets.ts) from fixed data:
// no server is started.
import { describe, expect, it } from "vitest";
import { type PeerReport, type PeerRow, peersTable, reportMarkdown, reportSvg } from "../../bench/report.ts";
import { judgeTarget } from "../../bench/targets.ts";

function row(id: string, group: string, name: string, rps: number | null, extra: Partial<PeerRow> = {}): PeerRow {
  return {
    id,
    group,
    name,
    baseline: false,
    skipped: null,
    rps,
    p50Ms: rps === null ? null : 1000 / rps,
    p99Ms: rps === null ? null : 4000 / rps,
    rpsRatio: null,
    p50Ratio: null,
    p99Ratio: null,
    roundRps: rps === null ? [] : [rps],
    requests: rps ?? 0,
    failed: 0,
    originRequests: null,
    target: null,
    problems: [],
    ...extra,
  };
}

function fixture(): PeerReport {
  const rows = [
    row("node-hello", "hello", "node:http (baseline)", 10_000, { baseline: true, rpsRatio: 1 }),
    row("wat", "hello", "Outpost, WAT hello", 7_000, { rpsRatio: 0.7 }),
    row("js", "hello", "Outpost, js-compute <hello> & co", 100, { rpsRatio: 0.01 }),
    row("workerd-hello", "hello", "workerd hello", 6_000, { rpsRatio: 0.6, version: "workerd 2026-11-17" }),
    row("node-2b", "cache-2b", "node:http (baseline)", 12_000, { baseline: true, rpsRatio: 1 }),
    row("nocode-2b", "cache-2b", "Outpost no-code", 10_800, { rpsRatio: 0.9, originRequests: 1 }),
    row("nginx-2b", "cache-2b", "nginx proxy_cache", null, { skipped: "nginx not found (apt-get install nginx-light)" }),
  ];
  rows[1].target = judgeTarget({ minRpsRatio: 0.6 }, rows[1], rows);
  rows[2].target = judgeTarget({ minRpsRatio: 0.25 }, rows[2], rows);
  rows[5].target = judgeTarget({ minRpsRatio: 0.8, aheadOf: { id: "workerd-hello", name: "workerd hello" } }, rows[5], rows);
  return {
    benchmark: "peers",
    date: "2026-11-22T06:00:00.000Z",
    node: "v24.21.0",
    cores: 2,
    cpu: "Test CPU",
    load: { start: 0.5, end: 1.5 },
    seconds: 123,
    settings: { duration: 10, warmup: 2, connections: 50, rounds: 2, maxRequestsPerTurn: 1_000_000, loadGenerator: "autocannon" },
    groups: [
      { id: "hello", title: "hello" },
      { id: "cache-2b", title: "cache hit, 2 B" },
    ],
    rows,
    notes: [],
    failures: [],
    sections: [{ name: "purge", title: "purge", markdown: "| a |\n| --- |\n| 1 |" }],
  };
}

describe("targets", () => {
  it("judges the req/s ratio, and 'ahead of' against the other row", () => {
    const report = fixture();
    const [, wat, js, , , nocode, nginx] = report.rows;
    expect(wat.target).toMatchObject({ text: "≥ 0.60×", met: true });
    expect(js.target).toMatchObject({ met: false });
    expect(nocode.target).toMatchObject({ text: "≥ 0.80× and > workerd hello", met: true, why: "workerd hello: 0.60×" });
    expect(judgeTarget({ minRpsRatio: 0.5 }, nginx, report.rows)).toMatchObject({ met: null });
    const noWorkerd = report.rows.map((r) => (r.id === "workerd-hello" ? { ...r, skipped: "npm install failed", rpsRatio: null } : r));
    expect(judgeTarget({ minRpsRatio: 0.8, aheadOf: { id: "workerd-hello", name: "workerd hello" } }, nocode, noWorkerd).met).toBeNull();
  });
});

describe("report", () => {
  it("writes one table line per contender and test, with ratios, targets and skips", () => {
    const report = fixture();
    const table = peersTable(report).split("\n");
    expect(table).toHaveLength(2 + report.rows.length);
    expect(table[0]).toContain("| test | contender | req/s | × node |");
    expect(table.find((l) => l.includes("Outpost, WAT hello"))).toMatch(/\| 7,000 \| 0\.70× \|.*\| ≥ 0\.60× \| yes \|/);
    expect(table.find((l) => l.includes("js-compute"))).toContain("**no**");
    expect(table.find((l) => l.includes("workerd"))).toContain("workerd hello (workerd 2026-11-17)");
    expect(table.find((l) => l.includes("nginx"))).toContain("| skipped |");
    const md = reportMarkdown(report);
    expect(md).toContain("load average 0.5 at the start, 1.5 at the end");
    expect(md).toContain("- nginx proxy_cache (cache hit, 2 B): nginx not found (apt-get install nginx-light)");
    expect(md).toContain("## purge");
    expect(md).toContain("](report.svg)");
  });

  it("draws a bar per measured row, a mark per target, and escapes text", () => {
    const svg = reportSvg(fixture());
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(6);
    expect(svg.match(/<line class="target" x1/g)!.length).toBe(3 + 1); // three rows with targets, and the legend's
    expect(svg).toContain("Outpost, js-compute &lt;hello&gt; &amp; co");
    expect(svg).not.toContain("<hello>");
    expect(svg).toContain(">skipped</text>");
    expect(svg).toContain(">1×</text>");
  });
});
