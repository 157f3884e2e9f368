/**
 * Published figures to print beside ours (experiments/reference/published.csv, one figure a
 * row with its source; see the README there).
 */
import { join } from "node:path";
import { readCsv } from "./csv.js";
import { packageRoot } from "./paths.js";

export interface PublishedFigure {
  source: string;
  mode: string;
  services: number | null;
  endpointsPerService: number | null;
  metric: string;
  percentile: string;
  value: number;
  /** The value as written, to rescale without rounding error. */
  valueText: string;
  unit: string;
  note: string;
}

/** Powers of ten from the unit to seconds. */
const EXPONENT: Record<string, number> = { s: 0, ms: -3, us: -6 };

let figures: Promise<readonly PublishedFigure[]> | undefined;

/**
 * The figures of published.csv, read once per process when first asked for (not when the module
 * loads: the command's bundle is CommonJS, which has no top-level await).
 */
export function publishedFigures(): Promise<readonly PublishedFigure[]> {
  figures ??= readCsv(join(packageRoot, "experiments", "reference", "published.csv")).then(({ rows }) =>
    rows.map((r) => ({
      source: r.source,
      mode: r.mode,
      services: r.services === "" ? null : Number(r.services),
      endpointsPerService: r.endpoints_per_service === "" ? null : Number(r.endpoints_per_service),
      metric: r.metric,
      percentile: r.percentile,
      value: Number(r.value),
      valueText: r.value,
      unit: r.unit,
      note: r.note,
    })),
  );
  return figures;
}

/** A published figure in seconds, or undefined when there is none. */
export async function publishedSeconds(q: { mode: string; metric: string; percentile: string; services?: number }): Promise<number | undefined> {
  const f = (await publishedFigures()).find(
    (p) => p.mode === q.mode && p.metric === q.metric && p.percentile === q.percentile && (q.services === undefined || p.services === q.services),
  );
  if (!f) return undefined;
  const exponent = EXPONENT[f.unit];
  // Rescale in decimal ("0.049e-3"), so the result is the double nearest the figure in seconds.
  return exponent === undefined ? undefined : Number(`${f.valueText}e${exponent}`);
}
