/** Reading a study's own CSV rows back: summary values by parameter values, and formatting. */
import type { CsvRow } from "./csv.js";

/** The summary (`replication` = all) value of `metric` in the config whose parameters match `where`. */
export function summaryValue(rows: readonly CsvRow[], where: Record<string, string | number>, metric: string): number {
  const row = rows.find((r) => r.replication === "all" && r.metric === metric && Object.entries(where).every(([k, v]) => r[k] === String(v)));
  return row ? Number(row.value) : Number.NaN;
}

/** Seconds in a unit a person reads at a glance: "274 µs", "1.20 s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "n/a";
  const a = Math.abs(s);
  if (a >= 1) return `${s.toPrecision(3)} s`;
  if (a >= 1e-3) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${(s * 1e6).toPrecision(3)} µs`;
}

/** The mean of the finite values (NaN if there are none): windows without data do not count. */
export function meanOfFinite(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
}

export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toPrecision(2)} %` : "n/a";
}
