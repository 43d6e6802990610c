// The performance targets of the peer comparison, as same-run ratios to bare
// node:http, and whether a row met its target.
import type { PeerRow } from "./report.ts";

export interface TargetSpec {
  /** The least req/s ratio to the group's node:http baseline. */
  minRpsRatio: number;
  /** Also ahead of this row's req/s ratio (by row id). */
  aheadOf?: { id: string; name: string };
}

export interface TargetResult {
  /** "≥ 0.60×", "≥ 0.80× and > workerd hello". */
  text: string;
  minRpsRatio: number;
  /** null: not measured, or what it is compared with was not. */
  met: boolean | null;
  why?: string;
}

export function describeTarget(spec: TargetSpec): string {
  return `≥ ${spec.minRpsRatio.toFixed(2)}×${spec.aheadOf ? ` and > ${spec.aheadOf.name}` : ""}`;
}

/** Judges one row against its target, given every row of the run (for `aheadOf`). */
export function judgeTarget(spec: TargetSpec, row: PeerRow, rows: PeerRow[]): TargetResult {
  const text = describeTarget(spec);
  const minRpsRatio = spec.minRpsRatio;
  if (row.skipped || row.rpsRatio === null) return { text, minRpsRatio, met: null, why: "not measured" };
  if (row.rpsRatio < spec.minRpsRatio) return { text, minRpsRatio, met: false };
  if (spec.aheadOf) {
    const other = rows.find((r) => r.id === spec.aheadOf!.id);
    if (!other || other.skipped || other.rpsRatio === null) return { text, minRpsRatio, met: null, why: `${spec.aheadOf.name} was not measured` };
    if (row.rpsRatio <= other.rpsRatio) return { text, minRpsRatio, met: false, why: `${spec.aheadOf.name}: ${other.rpsRatio.toFixed(2)}×` };
    return { text, minRpsRatio, met: true, why: `${spec.aheadOf.name}: ${other.rpsRatio.toFixed(2)}×` };
  }
  return { text, minRpsRatio, met: true };
}
