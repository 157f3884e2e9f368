/**
 * Draws a study's charts as static SVG files next to its CSV: vega-lite specs (charts.ts)
 * compiled to vega and rendered headless (renderer "none": no canvas, no DOM), written
 * atomically. `plotCsv` is `svcsim plot CSV`: it re-draws from a result CSV alone.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as vega from "vega";
import { compile } from "vega-lite";
import { InputError, showValue } from "../sim/errors.js";
import { podCharts, runCharts, textWidth, type ChartSpec, type TextItem } from "./charts.js";
import { readCsv, type CsvRow } from "./csv.js";

export type { ChartSpec } from "./charts.js";

export interface RenderOptions {
  /** Receives vega-lite's and vega's warnings (by default they are dropped: a chart is not a log). */
  onWarning?: (message: string) => void;
}

const LEADING = ["experiment", "config", "replication", "seed"];
const TRAILING = ["metric", "value"];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function messageOf(args: readonly unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
}

/** A vega/vega-lite logger that forwards warnings and errors to one callback. */
function logger(onWarning: (message: string) => void) {
  let level = vega.Warn;
  const self = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return self;
    },
    error: (...args: readonly unknown[]) => {
      onWarning(messageOf(args));
      return self;
    },
    warn: (...args: readonly unknown[]) => {
      onWarning(messageOf(args));
      return self;
    },
    info: () => self,
    debug: () => self,
  };
  return self;
}

// Vega documents this hook for renderers without a canvas (vl-convert sets it too); its type
// declarations leave `textMetrics` out.
const metrics = (vega as unknown as { textMetrics?: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
if (metrics) metrics.width = textWidth;

/** Renders one chart to an SVG document (a string that starts with `<svg`). */
export async function renderChart(chart: ChartSpec, options: RenderOptions = {}): Promise<string> {
  const onWarning = options.onWarning ?? (() => {});
  const log = logger(onWarning);
  const { spec } = compile(chart.spec, { logger: log });
  const view = new vega.View(vega.parse(spec), { renderer: "none", logger: log, logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Renders every chart and writes `<dir>/<name>.svg` (temp file + rename, so a reader never sees
 * half a chart); returns the paths in the order of `charts`. All charts are rendered before any
 * is written, so a chart that fails to render leaves the directory as it was.
 */
export async function writeCharts(dir: string, charts: readonly ChartSpec[], options: RenderOptions = {}): Promise<string[]> {
  const seen = new Set<string>();
  for (const c of charts) {
    if (!NAME.test(c.name)) throw new Error(`chart name ${showValue(c.name)} is not a plain file name`);
    if (seen.has(c.name)) throw new Error(`two charts are named ${showValue(c.name)}`);
    seen.add(c.name);
  }
  const svgs = await Promise.all(charts.map((c) => renderChart(c, options)));
  mkdirSync(dir, { recursive: true });
  return charts.map((c, i) => {
    const path = join(dir, `${c.name}.svg`);
    writeFileAtomic(path, svgs[i]);
    return path;
  });
}

export interface ChartSource {
  charts?: (rows: CsvRow[]) => ChartSpec[];
}

async function readResultCsv(csvPath: string): Promise<{ headers: string[]; rows: CsvRow[] }> {
  let isFile = false;
  try {
    isFile = statSync(csvPath).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "an error";
    throw new InputError("cannot read the CSV", { file: csvPath, expected: "a result CSV of svcsim", found: code === "ENOENT" ? "no such file" : code });
  }
  if (!isFile) throw new InputError("cannot read the CSV", { file: csvPath, expected: "a result CSV of svcsim", found: "a directory or special file" });
  let csv: { headers: string[]; rows: CsvRow[] };
  try {
    csv = await readCsv(csvPath);
  } catch (err) {
    throw new InputError("cannot parse the CSV", { file: csvPath, expected: "a result CSV of svcsim", found: err instanceof Error ? err.message : String(err) });
  }
  const { headers, rows } = csv;
  if (headers.length === 0) throw new InputError("the CSV is empty", { file: csvPath, expected: "a header row and result rows", found: "nothing" });
  const lead = headers.slice(0, LEADING.length);
  const trail = headers.slice(-TRAILING.length);
  if (headers.length < LEADING.length + TRAILING.length || lead.join() !== LEADING.join() || trail.join() !== TRAILING.join()) {
    throw new InputError("not a result CSV of svcsim", {
      file: csvPath,
      fieldPath: "header",
      expected: `${LEADING.join(",")},<parameters...>,${TRAILING.join(",")}`,
      found: showValue(headers.join(",")),
    });
  }
  if (rows.length === 0) throw new InputError("the CSV has no rows", { file: csvPath, expected: "result rows under the header", found: "a header only" });
  return csv;
}

/**
 * `svcsim plot CSV`: reads a result CSV, finds its experiment (column `experiment` of the first
 * row) with `lookup`, builds its charts and writes them next to the CSV; returns the SVG paths.
 * `svcsim run`'s summary.csv and pods.csv (experiment `run`) get generic charts.
 * Throws InputError for a CSV that is missing, empty or not svcsim's, for a shard's CSV (no
 * summary rows: merge the shards first) and for an experiment without charts.
 */
export async function plotCsv(csvPath: string, lookup: (experiment: string) => ChartSource | undefined, options: RenderOptions = {}): Promise<string[]> {
  const { headers, rows } = await readResultCsv(csvPath);
  const experiment = rows[0].experiment;
  const other = rows.findIndex((r) => r.experiment !== experiment);
  if (other >= 0) {
    throw new InputError("the CSV mixes experiments", {
      file: csvPath,
      fieldPath: `line ${other + 2}, column experiment`,
      expected: showValue(experiment),
      found: showValue(rows[other].experiment),
    });
  }
  let charts: ChartSpec[];
  if (experiment === "run" && headers.includes("pod")) {
    charts = podCharts(rows);
  } else {
    if (!rows.some((r) => r.replication === "all")) {
      throw new InputError("the CSV has no summary rows (replication = all)", {
        file: csvPath,
        fieldPath: "column replication",
        expected: "summary rows; a shard's CSV has none: join the shards with `svcsim merge` first",
        found: "per-replication rows only",
      });
    }
    const source: ChartSource | undefined = experiment === "run" ? { charts: runCharts } : lookup(experiment);
    if (!source) {
      throw new InputError("unknown experiment", { file: csvPath, fieldPath: "line 2, column experiment", expected: "a shipped experiment (see `svcsim list`) or run", found: showValue(experiment) });
    }
    if (!source.charts) {
      throw new InputError("this experiment has no charts", { file: csvPath, fieldPath: "line 2, column experiment", expected: "an experiment that defines charts", found: showValue(experiment) });
    }
    charts = source.charts(rows);
  }
  // summary.csv and pods.csv of one run share a directory: their charts have distinct names.
  return writeCharts(dirname(csvPath), charts, options);
}
