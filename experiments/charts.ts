/**
 * Chart builders for the studies: pure functions from the rows of a result CSV (DESIGN.md's
 * tidy long format) to vega-lite specs, which `plot.ts` renders to static SVG.
 *
 * The builders read only summary rows (`replication` = `all`): `<metric>_mean`,
 * `<metric>_ci95_low`, `<metric>_ci95_high`, and reference values under their own metric names
 * (`analytic_mean_sojourn_s`, `published_first_packet_p50_s`). Values that are not finite
 * numbers (NaN: no request of that kind) are dropped, never drawn as zero.
 *
 * Times are seconds in the CSV; a chart shows them in s, ms or µs, whichever reads best for its
 * largest value, scales the data accordingly and says the unit in the axis title.
 */
import type { TopLevelSpec } from "vega-lite";
import type { CsvRow } from "./csv.js";

export interface ChartSpec {
  /** File name without `.svg`: letters, digits, `.`, `_` and `-`. */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

/** A metric drawn under a readable label (a legend entry or a category on the axis). */
export interface MetricLabel {
  metric: string;
  label: string;
}

/**
 * Reference values (theory, a published figure) under their own metric name. `points` (the
 * default): hollow diamonds at each x, on a dashed line, beside ours. `rule`: a dashed horizontal
 * line per panel, labelled with `label` and the value — for a figure measured once, at one
 * size (e.g. KEP-3453's 5000-node test), which must not read as a curve over our x axis.
 */
export interface Reference extends MetricLabel {
  as?: "points" | "rule";
}

/**
 * How values are shown. `auto`: a time in s/ms/µs when every metric drawn ends in `_s`,
 * plain numbers otherwise. `%`: a fraction shown as a percentage (error rates).
 */
export type YUnit = "auto" | "s" | "ms" | "µs" | "%" | "none";

/** A column of the CSV (a parameter, or `config`), or `metric`: the metric's label. */
export type Field = string;

interface CommonOptions {
  /** File name of the SVG, without `.svg`. */
  name: string;
  title: string;
  /** Shown under the title, e.g. what the error bars are. */
  subtitle?: string;
  xTitle: string;
  /** Without the unit: the unit is appended, e.g. "first-packet p50" → "first-packet p50 (µs)". */
  yTitle: string;
  yUnit?: YUnit;
  /**
   * Multiply the values by this and show `yTitle` as given (say the unit in it yourself, e.g.
   * 1e6 and "first-packet p50 (µs)"); overrides `yUnit`.
   */
  scale?: number;
  /**
   * The quantity cannot be negative (a time, a rate, a count): a CI whose lower end falls below
   * zero (few replications, large variance) is drawn from zero. Default: true for times (`_s`).
   */
  nonNegative?: boolean;
  logY?: boolean;
  /** Colour (and, for bars, group) by this column. */
  color?: Field;
  colorTitle?: string;
  /** One small chart per value of this column. */
  facet?: Field;
  facetTitle?: string;
  /** Small charts per row when faceted (default 2). */
  facetColumns?: number;
  /** Each small chart gets its own y scale. */
  independentY?: boolean;
  width?: number;
  height?: number;
}

export interface MeanWithCIOptions extends CommonOptions {
  /** The parameter on the x axis; numeric values give a continuous axis, others categories. */
  x: Field;
  /** One metric (its `_mean` and CI rows), or several drawn as separate series. */
  metric: string | MetricLabel[];
  logX?: boolean;
  /** Force categories on x even when the values are numbers (e.g. few, unevenly spaced). */
  xCategorical?: boolean;
  /** Reference values (theory, published figures), drawn beside ours: see Reference. */
  reference?: Reference;
  /** Start the y axis at zero (default true on a linear axis). */
  yZero?: boolean;
}

export interface BarsWithCIOptions extends CommonOptions {
  /** A categorical column, or `metric` to put several metrics side by side. */
  x: Field;
  metric: string | MetricLabel[];
  /** Reference values drawn as hollow diamonds at the bars. */
  reference?: MetricLabel;
}

export interface StackedBarsOptions extends CommonOptions {
  x: Field;
  /** The parts of a whole (e.g. DNS, connect, network, queue, service), bottom to top. */
  metrics: MetricLabel[];
}

/** One point of a series: where on x (a window index, a time), its value, and its line. */
export interface SeriesPoint {
  x: number;
  y: number;
  group: string;
  /** The 95 % CI, drawn as a band where both ends are finite. */
  low?: number;
  high?: number;
  /** The small chart it belongs to, when `facet` is set. */
  facet?: string;
}

/**
 * Where a series' points come from — exactly one of:
 * - `prefix`: metrics named `<prefix><k>` with k a decimal number (a window index or a time),
 *   e.g. `jain_index_w0`, `jain_index_w1`, ...: their summary rows `<prefix><k>_mean`, ...;
 * - `x` and `metric`: a parameter column (e.g. `window`) against a metric's summary rows;
 * - `points`: points computed by the caller (the rows are then not read).
 */
export interface SeriesOptions extends Omit<CommonOptions, "color"> {
  prefix?: string;
  x?: Field;
  metric?: string;
  points?: readonly SeriesPoint[];
  /** x = k × xScale (e.g. the window length in seconds); default 1. */
  xScale?: number;
  /** From rows: one line per value of this column (default `config`). */
  color?: Field;
  /** Vertical rules at these x values (e.g. "rollout" at 20 s), labelled. */
  events?: { x: number; label: string }[];
  /** Horizontal rules at these y values, in the metric's own unit (e.g. Jain = 1: even). */
  guides?: { y: number; label: string }[];
  yZero?: boolean;
}

/** A summary point: what every builder draws. Keys are fixed so that field names need no escaping. */
interface Datum {
  [key: string]: string | number;
  source: string;
  x: string | number;
  color: string;
  facet: string;
  series: string;
  y: number;
}

const SIMULATED = "svcsim";
const FONT = "sans-serif";
const DEFAULT_WIDTH = 560;
const DEFAULT_HEIGHT = 300;
const FACET_WIDTH = 260;
const FACET_HEIGHT = 200;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const LEADING = new Set(["experiment", "config", "replication", "seed", "metric", "value"]);

type LayerChild = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];

/**
 * Advance widths of Helvetica (its AFM file, in 1/1000 em) for ASCII 32–126. Vega sizes the
 * layout (legends, axis labels, label truncation) by the width of each text; with no canvas in
 * Node its fallback guesses 0.8 em a character, which cuts legend and axis labels short and
 * leaves wide gaps. A font's real widths, made 10 % wider for the DejaVu Sans that Linux
 * substitutes for sans-serif, keep labels whole and the layout tight wherever the SVG is shown.
 */
const HELVETICA: readonly number[] = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278,
  584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667,
  944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556,
  333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const WIDER = 1.1;

export interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

/** The width of a line of text in px, as vega's `textMetrics.width(item, text)` is asked for it. */
export function textWidth(item: TextItem, text: unknown): number {
  const line = text == null ? "" : String(text).trim();
  const size = typeof item.fontSize === "number" ? item.fontSize : 11;
  const bold = item.fontWeight === "bold" || (typeof item.fontWeight === "number" && item.fontWeight >= 600);
  let em = 0;
  for (const ch of line) {
    const code = ch.codePointAt(0) ?? 0;
    em += code >= 32 && code <= 126 ? HELVETICA[code - 32] : 600;
  }
  const width = (em / 1000) * size * WIDER * (bold ? 1.08 : 1);
  // Vega truncates a text with a limit to fit it; its bounds are then the limit at most.
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
}


/** A finite number from a CSV cell, or undefined. */
function finite(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

function metricLabels(metric: string | MetricLabel[]): MetricLabel[] {
  return typeof metric === "string" ? [{ metric, label: metric }] : metric;
}

/** The value of a column for a row: a parameter, `config`, or the pseudo-column `metric` (its label). */
function cell(row: CsvRow, field: Field | undefined, label: string): string {
  if (field === undefined) return "";
  if (field === "metric") return label;
  return row[field] ?? "";
}

/** Summary rows of one config, keyed by metric. */
interface ConfigSummary {
  row: CsvRow;
  values: Map<string, string>;
}

/** Summary rows grouped by config, in the order configs first appear in the CSV. */
function summariesByConfig(rows: readonly CsvRow[]): ConfigSummary[] {
  const byConfig = new Map<string, ConfigSummary>();
  for (const row of rows) {
    if (row.replication !== "all") continue;
    let entry = byConfig.get(row.config);
    if (!entry) {
      entry = { row, values: new Map() };
      byConfig.set(row.config, entry);
    }
    entry.values.set(row.metric, row.value);
  }
  return [...byConfig.values()];
}

/** Distinct values of a column among summary rows, in order of first appearance. */
export function distinctValues(rows: readonly CsvRow[], field: Field): string[] {
  const seen = new Set<string>();
  for (const row of rows) if (row.replication === "all" && row[field] !== undefined) seen.add(row[field]);
  return [...seen];
}

/** The parameter columns of a CSV (its columns other than the leading ones and metric,value). */
export function paramColumns(rows: readonly CsvRow[]): string[] {
  const first = rows[0];
  return first ? Object.keys(first).filter((k) => !LEADING.has(k)) : [];
}

interface Extracted {
  points: Datum[];
  references: Datum[];
}

/** Means with CIs (and reference values) of the given metrics, one datum per config and metric. */
function extract(
  rows: readonly CsvRow[],
  metrics: MetricLabel[],
  fields: { x: Field; color?: Field; facet?: Field; nonNegative?: boolean },
  reference: MetricLabel | undefined,
): Extracted {
  const points: Datum[] = [];
  const references: Datum[] = [];
  for (const { row, values } of summariesByConfig(rows)) {
    for (const { metric, label } of metrics) {
      const mean = finite(values.get(`${metric}_mean`));
      if (mean === undefined) continue;
      let low = finite(values.get(`${metric}_ci95_low`));
      const high = finite(values.get(`${metric}_ci95_high`));
      if ((fields.nonNegative ?? metric.endsWith("_s")) && low !== undefined && low < 0 && mean >= 0) low = 0;
      points.push({
        source: SIMULATED,
        x: cell(row, fields.x, label),
        color: cell(row, fields.color, label),
        facet: cell(row, fields.facet, label),
        series: label,
        y: mean,
        // A CI that is not finite (one replication) is drawn as no bar at all.
        ...(low !== undefined && high !== undefined ? { low, high } : {}),
      });
    }
    if (reference) {
      const ref = finite(values.get(reference.metric));
      if (ref === undefined) continue;
      const label = metrics.length === 1 ? metrics[0].label : reference.label;
      references.push({
        source: reference.label,
        x: cell(row, fields.x, label),
        color: cell(row, fields.color, label),
        facet: cell(row, fields.facet, label),
        series: reference.label,
        y: ref,
      });
    }
  }
  return { points, references };
}

interface Scaling {
  factor: number;
  unit: string;
}

/** Picks the unit for the values drawn and the factor that converts seconds (or fractions) to it. */
function chooseUnit(o: { yUnit?: YUnit; scale?: number }, metrics: string[], values: number[]): Scaling {
  if (o.scale !== undefined) return { factor: o.scale, unit: "" };
  const unit = o.yUnit ?? "auto";
  let u = unit;
  if (u === "auto") u = metrics.length > 0 && metrics.every((m) => m.endsWith("_s")) ? "s" : "none";
  if (u === "%") return { factor: 100, unit: "%" };
  if (u === "none") return { factor: 1, unit: "" };
  if (unit !== "auto") return { factor: u === "s" ? 1 : u === "ms" ? 1e3 : 1e6, unit: u };
  const largest = Math.max(0, ...values.map((v) => Math.abs(v)));
  if (largest >= 1 || largest === 0) return { factor: 1, unit: "s" };
  if (largest >= 1e-3) return { factor: 1e3, unit: "ms" };
  return { factor: 1e6, unit: "µs" };
}

function scaleData(data: Datum[], factor: number): Datum[] {
  if (factor === 1) return data;
  return data.map((d) => {
    const out: Datum = { ...d, y: d.y * factor };
    if (typeof d.low === "number") out.low = d.low * factor;
    if (typeof d.high === "number") out.high = d.high * factor;
    return out;
  });
}

function withUnit(title: string, unit: string): string {
  return unit === "" ? title : `${title} (${unit})`;
}

/** On a log axis only positive values exist: drop points ≤ 0 and lower CI bounds ≤ 0 (one-sided bar). */
function positiveOnly(data: Datum[], logX: boolean, logY: boolean): Datum[] {
  const out: Datum[] = [];
  for (const d of data) {
    if (logX && !(typeof d.x === "number" && d.x > 0)) continue;
    if (logY && !(d.y > 0)) continue;
    if (logY && typeof d.low === "number" && d.low <= 0) out.push({ ...d, low: d.y });
    else out.push(d);
  }
  return out;
}

function orderOf(data: Datum[], key: "x" | "color" | "facet" | "series"): string[] {
  const seen = new Set<string>();
  for (const d of data) seen.add(String(d[key]));
  return [...seen];
}

/** House style: readable fonts, a white background, no interaction. */
function chartConfig() {
  return {
    font: FONT,
    background: "white",
    padding: 12,
    title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: "#555", anchor: "start" as const, offset: 10 },
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" as const, gridColor: "#e6e6e6" },
    legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal" as const, labelLimit: 260 },
    header: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal" as const },
    view: { stroke: "#ccc" },
  };
}

const TITLE_FONT: TextItem = { fontSize: 15, fontWeight: "bold" };
const SUBTITLE_FONT: TextItem = { fontSize: 12 };
/** Room the y axis (labels and title) takes left of the plot. */
const Y_AXIS_ROOM = 50;

/**
 * The title and subtitle, wrapped to the chart's width: vega does not widen a chart for its
 * title, so a long one would run off the edge of the SVG.
 */
function titleOf(o: CommonOptions, width: number) {
  const text = wrap(o.title, TITLE_FONT, width);
  return o.subtitle ? { text, subtitle: wrap(o.subtitle, SUBTITLE_FONT, width) } : { text };
}

/** Splits a text at spaces into lines no wider than `width` (a single long word stays whole). */
export function wrap(text: string, font: TextItem, width: number): string | string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (line !== "" && textWidth(font, candidate) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines.length === 1 ? lines[0] : lines;
}

/** The narrowest plot that still shows its title and subtitle on one line each. */
function titleWidth(o: CommonOptions): number {
  return Math.max(textWidth(TITLE_FONT, o.title), o.subtitle ? textWidth(SUBTITLE_FONT, o.subtitle) : 0) - Y_AXIS_ROOM + 1;
}

/** A chart with nothing to draw: its title, and a line saying why, instead of an empty frame. */
function emptyChart(o: CommonOptions, why: string): ChartSpec {
  return {
    name: o.name,
    title: o.title,
    spec: {
      $schema: SCHEMA,
      title: titleOf(o, (o.width ?? DEFAULT_WIDTH) + Y_AXIS_ROOM),
      width: o.width ?? DEFAULT_WIDTH,
      height: 60,
      config: chartConfig(),
      data: { values: [{ text: why }] },
      mark: { type: "text", align: "left", x: 0, y: 30, fontSize: 12, color: "#555" },
      encoding: { text: { field: "text", type: "nominal" } },
    },
  };
}

/** Wraps layers into a top-level spec, faceted or not. */
function assemble(o: CommonOptions, data: Datum[], layer: LayerChild[], facetOrder: string[]): ChartSpec {
  const config = chartConfig();
  if (o.facet !== undefined) {
    const columns = Math.max(1, Math.min(o.facetColumns ?? 2, facetOrder.length));
    const title = titleOf(o, columns * (o.width ?? FACET_WIDTH) + (columns - 1) * 20 + Y_AXIS_ROOM);
    return {
      name: o.name,
      title: o.title,
      spec: {
        $schema: SCHEMA,
        title,
        config,
        data: { values: data },
        facet: { field: "facet", type: "ordinal", sort: facetOrder, title: o.facetTitle ?? o.facet },
        columns,
        spec: { width: o.width ?? FACET_WIDTH, height: o.height ?? FACET_HEIGHT, layer },
        ...(o.independentY ? { resolve: { scale: { y: "independent" as const } } } : {}),
      },
    };
  }
  const width = o.width ?? DEFAULT_WIDTH;
  return {
    name: o.name,
    title: o.title,
    spec: {
      $schema: SCHEMA,
      title: titleOf(o, width + Y_AXIS_ROOM),
      config,
      width,
      height: o.height ?? DEFAULT_HEIGHT,
      data: { values: data },
      layer,
    },
  };
}

function colorEncoding(o: CommonOptions, order: string[], field: "color" | "series" = "color") {
  return {
    field,
    type: "nominal" as const,
    sort: order,
    scale: { domain: order },
    title: o.colorTitle ?? (field === "series" ? "metric" : (o.color ?? "")),
  };
}

/**
 * Mean with 95 % CI error bars of a metric against a parameter, one line per value of `color`,
 * and, when given, the reference metric (theory, a published figure) as hollow diamonds on a
 * dashed line, so that the published figure sits beside ours (or as a labelled horizontal rule:
 * see Reference).
 */
export function meanWithCI(rows: readonly CsvRow[], o: MeanWithCIOptions): ChartSpec {
  const metrics = metricLabels(o.metric);
  const several = metrics.length > 1;
  // Several metrics on one chart: they are the colour unless a column already is.
  const colorKey: "color" | "series" | undefined = o.color !== undefined ? "color" : several ? "series" : undefined;
  const asRule = o.reference?.as === "rule";
  const { points, references } = extract(rows, metrics, o, o.reference);
  const numericX = !o.xCategorical && [...points, ...(asRule ? [] : references)].every((d) => finite(String(d.x)) !== undefined);
  const toX = (d: Datum): Datum => ({ ...d, x: numericX ? Number(d.x) : String(d.x) });
  const logX = Boolean(o.logX && numericX);
  const logY = Boolean(o.logY);
  const all = positiveOnly([...points, ...(asRule ? uniqueRules(references) : references)].map(toX), logX, logY);
  const scaling = chooseUnit(o, [...metrics.map((m) => m.metric), ...(o.reference ? [o.reference.metric] : [])], all.flatMap((d) => [d.y, ...(typeof d.high === "number" ? [d.high] : [])]));
  const data = scaleData(all, scaling.factor).map((d) => (asRule && d.source !== SIMULATED ? { ...d, text: `${d.source}: ${formatValue(d.y)}${scaling.unit === "" ? "" : ` ${scaling.unit}`}` } : d));
  if (!data.some((d) => d.source === SIMULATED)) {
    return emptyChart(o, `no finite values of ${metrics.map((m) => m.metric).join(", ")} in the summary rows`);
  }
  // Reference rules have no x and no colour of their own.
  const drawnAsSeries = asRule ? data.filter((d) => d.source === SIMULATED) : data;
  const xOrder = orderOf(drawnAsSeries, "x");
  const x = numericX
    ? { field: "x", type: "quantitative" as const, title: o.xTitle, scale: logX ? { type: "log" as const, nice: false, padding: 14 } : { zero: false, padding: 14 } }
    : { field: "x", type: "ordinal" as const, title: o.xTitle, sort: xOrder, axis: { labelAngle: 0 } };
  const yTitle = withUnit(o.yTitle, scaling.unit);
  const yScale = logY ? { type: "log" as const } : { zero: o.yZero ?? true };
  const color = colorKey ? colorEncoding(o, orderOf(drawnAsSeries, colorKey), colorKey) : undefined;
  const colorEnc = color ? { color } : {};
  const detail = colorKey === "color" && several ? { detail: { field: "series", type: "nominal" as const } } : {};
  const hasRef = !asRule && references.length > 0 && data.some((d) => d.source !== SIMULATED);
  const sourceOrder = hasRef ? [SIMULATED, o.reference!.label] : [SIMULATED];
  // One legend for both marks of "source": ours filled on a solid line, the reference hollow on a dashed one.
  const sourceLegend = hasRef
    ? {
        title: null,
        symbolStrokeWidth: 1.5,
        encoding: {
          symbols: {
            fill: { condition: { test: `datum.value === '${SIMULATED}'`, value: "#555" }, value: "transparent" },
            stroke: { value: "#555" },
            opacity: { value: 1 },
            fillOpacity: { value: 1 },
          },
        },
      }
    : null;
  const sim = { filter: `datum.source === '${SIMULATED}'` };
  const ref = { filter: `datum.source !== '${SIMULATED}'` };
  const layer: LayerChild[] = [
    {
      transform: [sim],
      mark: { type: "line", strokeWidth: 2, opacity: 1 },
      encoding: {
        x,
        y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
        ...colorEnc,
        ...detail,
        strokeDash: { field: "source", type: "nominal", scale: { domain: sourceOrder, range: [[1, 0], [5, 4]] }, legend: sourceLegend },
      },
    },
    ...ifCI(data, {
      transform: [sim, { filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "errorbar", ticks: { size: 8 }, thickness: 1.5 },
      encoding: {
        x,
        y: { field: "low", type: "quantitative", title: yTitle, scale: yScale },
        y2: { field: "high" },
        ...(color ? { color } : { color: { value: "#4c78a8" } }),
        ...detail,
      },
    }),
    {
      transform: [sim],
      mark: { type: "point", filled: true, size: 36, opacity: 1 },
      encoding: {
        x,
        y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
        ...colorEnc,
        shape: { field: "source", type: "nominal", scale: { domain: sourceOrder, range: ["circle", "diamond"] }, legend: sourceLegend },
      },
    },
  ];
  if (hasRef) {
    layer.push(
      {
        transform: [ref],
        mark: { type: "line", strokeWidth: 1.5, opacity: 1 },
        encoding: {
          x,
          y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
          ...colorEnc,
          strokeDash: { field: "source", type: "nominal", scale: { domain: sourceOrder, range: [[1, 0], [5, 4]] }, legend: sourceLegend },
        },
      },
      {
        transform: [ref],
        mark: { type: "point", filled: false, size: 150, strokeWidth: 1.6, opacity: 1 },
        encoding: {
          x,
          y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
          ...colorEnc,
          shape: { field: "source", type: "nominal", scale: { domain: sourceOrder, range: ["circle", "diamond"] }, legend: sourceLegend },
        },
      },
    );
  }
  if (asRule && data.some((d) => d.source !== SIMULATED)) {
    const y = { field: "y", type: "quantitative" as const, title: yTitle, scale: yScale };
    layer.push(
      { transform: [ref], mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.3, color: "#555" }, encoding: { y } },
      {
        transform: [ref],
        // At the left: our curves mostly rise to the right.
        mark: { type: "text", align: "left", baseline: "bottom", x: 0, dx: 4, dy: -3, color: "#333", fontSize: 11 },
        encoding: { y, text: { field: "text", type: "nominal" } },
      },
    );
  }
  return assemble(o, data, layer, orderOf(data, "facet"));
}

/**
 * The layer that draws CIs, if any datum has one (one replication: none). A layer over no data
 * would still ask vega for the extent of an empty field.
 */
function ifCI(data: readonly Datum[], layer: LayerChild): LayerChild[] {
  return data.some((d) => typeof d.low === "number" && typeof d.high === "number") ? [layer] : [];
}

/** One reference rule per panel and value: every config of a panel usually carries the same figure. */
function uniqueRules(references: Datum[]): Datum[] {
  const seen = new Set<string>();
  return references.filter((d) => {
    const key = `${d.facet}\u0000${d.y}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A value for a label: at most 3 significant digits, no exponent, no trailing zeros. */
function formatValue(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return String(Number(v.toFixed(Math.min(digits, 12))));
}

/**
 * The width of a bar chart: bars of a readable size (one category, or a few, do not stretch
 * across the whole chart), up to the usual width.
 */
function bandWidth(o: CommonOptions, categories: number, groups: number): number {
  const perCategory = Math.max(90, groups * 30 + 24);
  const widest = o.facet !== undefined ? FACET_WIDTH : DEFAULT_WIDTH;
  // Not so narrow that the title or the subtitle has to wrap.
  const narrowest = o.facet !== undefined ? 140 : Math.max(140, titleWidth(o));
  return Math.min(widest, Math.max(narrowest, categories * perCategory));
}

/** Category labels level when they fit under their bars, slanted (and not cut short) when not. */
function bandAxis(labels: string[], width: number) {
  const longest = Math.max(0, ...labels.map((l) => textWidth({ fontSize: 11 }, l)));
  const fits = longest <= width / Math.max(1, labels.length) - 8;
  return fits ? { labelAngle: 0, labelLimit: 180 } : { labelAngle: -35, labelAlign: "right" as const, labelBaseline: "top" as const, labelLimit: 300 };
}

/**
 * Bars of the mean of a metric per category (a Service type, a connection model, or — with
 * x = `metric` — several metrics side by side), grouped by `color`, with 95 % CI error bars and
 * the reference, when given, as hollow diamonds.
 */
export function barsWithCI(rows: readonly CsvRow[], o: BarsWithCIOptions): ChartSpec {
  const metrics = metricLabels(o.metric);
  // Several metrics and no column says which: they go side by side within each category.
  const colorKey: "color" | "series" | undefined =
    o.color !== undefined ? "color" : metrics.length > 1 && o.x !== "metric" ? "series" : undefined;
  const { points, references } = extract(rows, metrics, o, o.reference);
  const logY = Boolean(o.logY);
  const all = positiveOnly([...points, ...references].map((d) => ({ ...d, x: String(d.x) })), false, logY);
  const scaling = chooseUnit(o, [...metrics.map((m) => m.metric), ...(o.reference ? [o.reference.metric] : [])], all.flatMap((d) => [d.y, ...(typeof d.high === "number" ? [d.high] : [])]));
  const data = scaleData(all, scaling.factor);
  if (!data.some((d) => d.source === SIMULATED)) {
    return emptyChart(o, `no finite values of ${metrics.map((m) => m.metric).join(", ")} in the summary rows`);
  }
  const xOrder = orderOf(data, "x");
  const yTitle = withUnit(o.yTitle, scaling.unit);
  const yScale = logY ? { type: "log" as const } : { zero: true };
  const groupOrder = colorKey ? orderOf(data, colorKey) : [];
  const grouped = colorKey !== undefined && groupOrder.length > 1;
  const width = o.width ?? bandWidth(o, xOrder.length, grouped ? groupOrder.length : 1);
  const x = { field: "x", type: "nominal" as const, title: o.xTitle, sort: xOrder, axis: bandAxis(xOrder, width) };
  const color = colorKey ? colorEncoding(o, groupOrder, colorKey) : undefined;
  const xOffset = grouped ? { xOffset: { field: colorKey, type: "nominal" as const, sort: groupOrder, scale: { domain: groupOrder } } } : {};
  const colorEnc = color ? { color } : {};
  const sim = { filter: `datum.source === '${SIMULATED}'` };
  const hasRef = data.some((d) => d.source !== SIMULATED);
  const layer: LayerChild[] = [
    {
      transform: [sim],
      mark: { type: "bar", ...(color ? {} : { color: "#4c78a8" }) },
      encoding: { x, ...xOffset, y: { field: "y", type: "quantitative", title: yTitle, scale: yScale }, ...colorEnc },
    },
    ...ifCI(data, {
      transform: [sim, { filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "errorbar", ticks: { size: 6 }, thickness: 1.3, color: "#222" },
      encoding: { x, ...xOffset, y: { field: "low", type: "quantitative", title: yTitle, scale: yScale }, y2: { field: "high" } },
    }),
  ];
  if (hasRef) {
    layer.push({
      transform: [{ filter: `datum.source !== '${SIMULATED}'` }],
      mark: { type: "point", filled: false, size: 120, strokeWidth: 1.8, color: "#222", opacity: 1 },
      encoding: {
        x,
        ...xOffset,
        y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
        shape: { field: "source", type: "nominal", scale: { domain: [o.reference!.label], range: ["diamond"] }, title: null },
      },
    });
  }
  return assemble({ ...o, width }, data, layer, orderOf(data, "facet"));
}

/**
 * Stacked bars of the means of the parts of a whole per category: where the time goes along
 * each path (DNS, connect, network, queue, service). Means only: CIs do not stack.
 */
export function stackedBars(rows: readonly CsvRow[], o: StackedBarsOptions): ChartSpec {
  const { points } = extract(rows, o.metrics, o, undefined);
  const all = points.map((d) => ({ ...d, x: String(d.x), order: o.metrics.findIndex((m) => m.label === d.series) }));
  // Stacked totals decide the unit, not the parts.
  const totals = new Map<string, number>();
  for (const d of all) totals.set(`${d.facet}\u0000${d.x}`, (totals.get(`${d.facet}\u0000${d.x}`) ?? 0) + d.y);
  const scaling = chooseUnit(o, o.metrics.map((m) => m.metric), [...totals.values()]);
  const data = scaleData(all, scaling.factor);
  if (data.length === 0) return emptyChart(o, `no finite values of ${o.metrics.map((m) => m.metric).join(", ")} in the summary rows`);
  const seriesOrder = o.metrics.map((m) => m.label).filter((l) => data.some((d) => d.series === l));
  const xOrder = orderOf(data, "x");
  const width = o.width ?? bandWidth(o, xOrder.length, 1);
  const layer: LayerChild[] = [
    {
      mark: { type: "bar" },
      encoding: {
        x: { field: "x", type: "nominal", title: o.xTitle, sort: xOrder, axis: bandAxis(xOrder, width) },
        y: { field: "y", type: "quantitative", title: withUnit(o.yTitle, scaling.unit), stack: "zero" },
        color: { field: "series", type: "nominal", sort: seriesOrder, scale: { domain: seriesOrder }, title: o.colorTitle ?? "part" },
        order: { field: "order", type: "quantitative" },
      },
    },
  ];
  return assemble({ ...o, width }, data, layer, orderOf(data, "facet"));
}

/**
 * A metric over time or window index (e.g. Jain's index per window), one line per config with
 * a shaded 95 % CI band, and labelled vertical rules at events such as a rollout.
 */
export function series(rows: readonly CsvRow[], o: SeriesOptions): ChartSpec {
  const colorField = o.color ?? "config";
  const scale = o.xScale ?? 1;
  const sources = [o.prefix !== undefined, o.x !== undefined || o.metric !== undefined, o.points !== undefined].filter(Boolean).length;
  if (sources !== 1 || ((o.x === undefined) !== (o.metric === undefined))) {
    throw new Error(`series ${o.name}: give exactly one of prefix, x with metric, or points`);
  }
  let given: SeriesPoint[];
  let metricNames: string[];
  let what: string;
  if (o.prefix !== undefined) {
    given = windowPoints(rows, o.prefix, { group: colorField, facet: o.facet });
    metricNames = [...new Set(given.map((p) => `${o.prefix}${p.x}`))];
    what = `${o.prefix}<k>`;
  } else if (o.metric !== undefined && o.x !== undefined) {
    given = parameterPoints(rows, o.x, o.metric, { group: colorField, facet: o.facet });
    metricNames = [o.metric];
    what = o.metric;
  } else {
    given = [...(o.points ?? [])];
    metricNames = [];
    what = "the points";
  }
  const points: Datum[] = [];
  for (const p of given) {
    const x = p.x * scale;
    if (!Number.isFinite(x) || !Number.isFinite(p.y)) continue;
    const ci = p.low !== undefined && p.high !== undefined && Number.isFinite(p.low) && Number.isFinite(p.high);
    points.push({ source: SIMULATED, x, color: p.group, facet: p.facet ?? "", series: "", y: p.y, ...(ci ? { low: p.low as number, high: p.high as number } : {}) });
  }
  const logY = Boolean(o.logY);
  const all = positiveOnly(points, false, logY);
  const scaling = chooseUnit(o, metricNames, all.flatMap((d) => [d.y, ...(typeof d.high === "number" ? [d.high] : [])]));
  const data = scaleData(all, scaling.factor);
  if (data.length === 0) return emptyChart(o, `no finite values of ${what}`);
  const colorOrder = orderOf(data, "color");
  const x = { field: "x", type: "quantitative" as const, title: o.xTitle, scale: { zero: false } };
  const yTitle = withUnit(o.yTitle, scaling.unit);
  const yScale = logY ? { type: "log" as const } : { zero: o.yZero ?? true };
  const color = {
    // The legend shows the lines, not the faint CI bands.
    color: { field: "color", type: "nominal" as const, sort: colorOrder, scale: { domain: colorOrder }, title: o.colorTitle ?? colorField, legend: { symbolOpacity: 1, symbolType: "stroke", symbolStrokeWidth: 2.5 } },
  };
  const layer: LayerChild[] = [
    ...ifCI(data, {
      transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "area", opacity: 0.18 },
      encoding: { x, y: { field: "low", type: "quantitative", title: yTitle, scale: yScale }, y2: { field: "high" }, ...color },
    }),
    {
      mark: { type: "line", strokeWidth: 2, point: { filled: true, size: 30 } },
      encoding: { x, y: { field: "y", type: "quantitative", title: yTitle, scale: yScale }, ...color },
    },
  ];
  // A rule at a fixed place still draws once per datum: one datum per panel, not one per point.
  const once = [{ aggregate: [], groupby: ["facet"] }];
  for (const e of o.events ?? []) {
    const at = { x: { datum: e.x, type: "quantitative" as const } };
    layer.push(
      { transform: once, mark: { type: "rule", strokeDash: [4, 3], color: "#555" }, encoding: at },
      { transform: once, mark: { type: "text", text: e.label, align: "left", baseline: "top", dx: 4, y: 2, color: "#333", fontSize: 11 }, encoding: at },
    );
  }
  for (const g of o.guides ?? []) {
    const at = { y: { datum: g.y * scaling.factor, type: "quantitative" as const } };
    layer.push(
      { transform: once, mark: { type: "rule", strokeDash: [2, 3], color: "#777" }, encoding: at },
      { transform: once, mark: { type: "text", text: g.label, align: "right", baseline: "bottom", x: "width", dy: -2, color: "#555", fontSize: 11 }, encoding: at },
    );
  }
  return assemble({ ...o, color: colorField }, data, layer, orderOf(data, "facet"));
}

/**
 * Points of metrics named `<prefix><k>` (k a decimal: a window index or a time) from the
 * summary rows, one line per value of `group`; NaN means are dropped.
 */
export function windowPoints(rows: readonly CsvRow[], prefix: string, o: { group?: Field; facet?: Field } = {}): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const { row, values } of summariesByConfig(rows)) {
    for (const [metric, text] of values) {
      if (!metric.startsWith(prefix) || !metric.endsWith("_mean")) continue;
      const k = metric.slice(prefix.length, -"_mean".length);
      if (!/^\d+(\.\d+)?$/.test(k)) continue;
      const mean = finite(text);
      if (mean === undefined) continue;
      points.push(withCI({ x: Number(k), y: mean, group: cell(row, o.group ?? "config", ""), facet: cell(row, o.facet, "") }, values, `${prefix}${k}`));
    }
  }
  return points;
}

/** Points of a metric's means against a numeric parameter column (e.g. `window`), one line per value of `group`. */
export function parameterPoints(rows: readonly CsvRow[], x: Field, metric: string, o: { group?: Field; facet?: Field } = {}): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const { row, values } of summariesByConfig(rows)) {
    const at = finite(row[x]);
    const mean = finite(values.get(`${metric}_mean`));
    if (at === undefined || mean === undefined) continue;
    points.push(withCI({ x: at, y: mean, group: cell(row, o.group ?? "config", ""), facet: cell(row, o.facet, "") }, values, metric));
  }
  return points;
}

function withCI(p: SeriesPoint, values: Map<string, string>, metric: string): SeriesPoint {
  const low = finite(values.get(`${metric}_ci95_low`));
  const high = finite(values.get(`${metric}_ci95_high`));
  return low !== undefined && high !== undefined ? { ...p, low, high } : p;
}

// ---------------------------------------------------------------------------------------------
// Charts of the existing studies and the fallback for `svcsim run`.

/**
 * mm1: the simulated mean sojourn (and wait) with 95 % CIs beside the exact M/M/c values. Against
 * λ when λ is swept (one line per c when c is swept too), otherwise against whichever parameter
 * is swept, or per config.
 */
export function mm1Charts(rows: readonly CsvRow[]): ChartSpec[] {
  const swept = ["lambda", "mu", "servers"].filter((p) => distinctValues(rows, p).length > 1);
  const x = swept[0];
  const color = swept.find((p) => p !== x);
  const titles: Record<string, string> = { lambda: "arrival rate λ (1/s)", mu: "service rate μ per server (1/s)", servers: "servers c" };
  const build = (metric: string, analytic: string, name: string, what: string): ChartSpec => {
    const common = {
      name,
      title: `M/M/c: ${what}, simulated vs exact`,
      subtitle: `${x === undefined ? "bars" : "points"}: mean of replications with 95 % CI; diamonds: Erlang C`,
      yTitle: what,
      reference: { metric: analytic, label: "exact (Erlang C)" },
    };
    if (x === undefined) {
      // Nothing swept: one bar per config, named by its queue rather than "base".
      const named = rows.map((r) => ({ ...r, queue: `λ = ${r.lambda}, μ = ${r.mu}, c = ${r.servers}` }));
      return barsWithCI(named, { ...common, x: "queue", xTitle: "queue (rates per second)", metric });
    }
    // Near saturation the sojourn grows as 1/(μc − λ): a log axis keeps the small values readable.
    const means = rows.filter((r) => r.replication === "all" && r.metric === analytic).map((r) => Number(r.value)).filter((v) => v > 0);
    const logY = means.length > 1 && Math.max(...means) / Math.min(...means) > 30;
    return meanWithCI(rows, {
      ...common,
      x,
      xTitle: titles[x],
      metric,
      logY,
      ...(color ? { color, colorTitle: titles[color] } : {}),
      ...(swept.length > 2 ? { facet: swept[2], facetTitle: titles[swept[2]] } : {}),
    });
  };
  return [
    build("mean_sojourn_s", "analytic_mean_sojourn_s", "mm1-mean-sojourn", "mean sojourn time"),
    build("mean_wait_s", "analytic_mean_wait_s", "mm1-mean-wait", "mean wait in queue"),
  ];
}

/** The columns among `candidates` that take more than one value in the summary rows. */
function swept(rows: readonly CsvRow[], candidates: readonly string[]): string[] {
  return candidates.filter((p) => distinctValues(rows, p).length > 1);
}

/** Whether the finite positive values of these summary metrics span more than `ratio` (then a log axis reads better). */
function spansDecades(rows: readonly CsvRow[], metrics: readonly string[], ratio: number): boolean {
  const values = rows
    .filter((r) => r.replication === "all" && metrics.includes(r.metric))
    .map((r) => finite(r.value))
    .filter((v): v is number => v !== undefined && v > 0);
  return values.length > 1 && Math.max(...values) / Math.min(...values) > ratio;
}

/** Legend and rule labels stay short: vega sizes the layout by an estimate of text widths (no canvas in Node) that runs wide. */
const PUBLISHED = "published";

/**
 * first-packet-latency: the first-packet cost of a new connection, p50 and p99, against the
 * number of Services, one colour per mode, on a log axis (iptables grows, nftables and IPVS stay
 * flat), with the figures of the Kubernetes blog's nftables post beside ours. Without a sweep of
 * Services: bars per mode.
 */
export function firstPacketCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const bySize = distinctValues(rows, "services").length > 1;
  const modes = distinctValues(rows, "mode").length > 1;
  return (["p50", "p99"] as const).map((pct): ChartSpec => {
    const common = {
      name: `first-packet-${pct}`,
      title: `First-packet latency of a new connection, ${pct}${onlyMode(rows)}`,
      subtitle: "filled: svcsim, mean of replications with 95 % CI; hollow: published (Kubernetes blog, nftables post, 2025)",
      metric: `first_packet_${pct}_s`,
      yTitle: `first-packet latency, ${pct}`,
      logY: true,
      reference: { metric: `published_first_packet_${pct}_s`, label: PUBLISHED },
    };
    if (!bySize) return barsWithCI(rows, { ...common, x: "mode", xTitle: "kube-proxy mode", logY: false });
    return meanWithCI(rows, {
      ...common,
      x: "services",
      xTitle: "Services on the node",
      ...(modes ? { color: "mode", colorTitle: "kube-proxy mode" } : {}),
    });
  });
}

const KEP_3453 = "KEP-3453";

/** ` (iptables)` when the rows hold one mode only (no colour legend then says which). */
function onlyMode(rows: readonly CsvRow[]): string {
  const modes = distinctValues(rows, "mode");
  return modes.length === 1 ? ` (${modes[0]})` : "";
}

/**
 * rule-sync: network programming latency (p50, p99) and the mean sync's duration against the
 * number of Services, one colour per mode, one small chart per sync strategy (full / partial)
 * and minSyncPeriod when they are swept. KEP-3453's p50s come from one 5000-node scale test, not
 * a sweep of Services: they are labelled horizontal rules in the panel they belong to.
 */
export function ruleSyncCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const panels = swept(rows, ["sync", "min_sync_period_s"]);
  const panelOf = (r: CsvRow): string =>
    panels.map((p) => (p === "sync" ? `${r.sync} syncs` : `minSyncPeriod ${r.min_sync_period_s} s`)).join(", ");
  const withPanel: CsvRow[] = panels.length > 0 ? rows.map((r) => ({ ...r, panel: panelOf(r) })) : [...rows];
  const bySize = distinctValues(rows, "services").length > 1;
  const modes = distinctValues(rows, "mode").length > 1;
  const facet = panels.length > 0 ? { facet: "panel", facetTitle: "", facetColumns: Math.min(2, distinctValues(withPanel, "panel").length) } : {};
  const build = (name: string, metric: string, what: string, subtitle: string, reference?: Reference): ChartSpec => {
    const logY = spansDecades(rows, [`${metric}_mean`, ...(reference ? [reference.metric] : [])], 20);
    const common = { name, title: `rule-sync: ${what}${onlyMode(rows)}`, subtitle, metric, yTitle: what, logY, ...facet, ...(reference ? { reference } : {}) };
    // Bars stand on zero: a log axis has none.
    if (!bySize) return barsWithCI(withPanel, { ...common, logY: false, x: "mode", xTitle: "kube-proxy mode" });
    return meanWithCI(withPanel, {
      ...common,
      x: "services",
      xTitle: "Services on the node",
      ...(modes ? { color: "mode", colorTitle: "kube-proxy mode" } : {}),
    });
  };
  return [
    build(
      "rule-sync-network-programming-p50",
      "network_programming_p50_s",
      "network programming latency, p50",
      "mean of replications with 95 % CI; dashed: KEP-3453's published p50 (iptables, one 5000-node scale test)",
      { metric: "published_kep3453_network_programming_p50_s", label: KEP_3453, as: "rule" },
    ),
    build("rule-sync-network-programming-p99", "network_programming_p99_s", "network programming latency, p99", "mean of replications with 95 % CI"),
    build("rule-sync-sync-duration", "sync_duration_mean_s", "mean duration of a sync", "mean of replications with 95 % CI"),
  ];
}

const RUN_LATENCY: MetricLabel[] = [
  { metric: "mean_latency_s", label: "mean" },
  { metric: "p50_latency_s", label: "p50" },
  { metric: "p90_latency_s", label: "p90" },
  { metric: "p99_latency_s", label: "p99" },
  { metric: "first_packet_p50_s", label: "first packet p50" },
  { metric: "first_packet_p99_s", label: "first packet p99" },
];

const RUN_BREAKDOWN: MetricLabel[] = [
  { metric: "mean_dns_s", label: "DNS" },
  { metric: "mean_connect_s", label: "connect" },
  { metric: "mean_network_s", label: "network" },
  { metric: "mean_queue_s", label: "queue" },
  { metric: "mean_service_s", label: "service" },
];

/**
 * The generic charts of `svcsim run`'s summary.csv (experiment `run`): the main latency
 * metrics per config, and where the mean goes (DNS, connect, network, queue, service).
 */
export function runCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const has = (metric: string) => rows.some((r) => r.replication === "all" && r.metric === `${metric}_mean` && finite(r.value) !== undefined);
  const latency = RUN_LATENCY.filter((m) => has(m.metric));
  const breakdown = RUN_BREAKDOWN.filter((m) => has(m.metric));
  const several = distinctValues(rows, "config").length > 1;
  const charts: ChartSpec[] = [
    barsWithCI(rows, {
      name: "run-latency",
      title: "Request latency",
      subtitle: "mean of replications with 95 % CI",
      x: "metric",
      xTitle: "statistic",
      yTitle: "latency",
      metric: latency.length > 0 ? latency : RUN_LATENCY.slice(0, 4),
      ...(several ? { color: "config", colorTitle: "scenario" } : {}),
    }),
  ];
  if (breakdown.length > 0) {
    charts.push(
      stackedBars(rows, {
        name: "run-latency-breakdown",
        title: "Where the mean request time goes",
        subtitle: "means of replications, stacked",
        x: "config",
        xTitle: "scenario",
        yTitle: "mean time per request",
        metrics: breakdown,
      }),
    );
  }
  return charts;
}

/**
 * The generic chart of `svcsim run`'s pods.csv: requests served per pod, mean over
 * replications (pods.csv has no summary rows), with min–max over replications.
 */
export function podCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const perPod = new Map<string, { config: string; pod: string; node: string; values: number[] }>();
  for (const r of rows) {
    if (r.metric !== "requests" || r.replication === "all") continue;
    const v = finite(r.value);
    if (v === undefined) continue;
    const key = `${r.config}\u0000${r.pod}`;
    const entry = perPod.get(key) ?? { config: r.config, pod: r.pod ?? "", node: r.node ?? "", values: [] };
    entry.values.push(v);
    perPod.set(key, entry);
  }
  // Reuse barsWithCI through synthetic summary rows: mean, and the replications' range.
  const summary: CsvRow[] = [];
  for (const p of perPod.values()) {
    const mean = p.values.reduce((a, b) => a + b, 0) / p.values.length;
    const base = { experiment: "run", config: `${p.config}\u0000${p.pod}`, replication: "all", seed: "", pod: `${p.pod} (${p.node})`, scenario: p.config };
    summary.push({ ...base, metric: "requests_mean", value: String(mean) });
    summary.push({ ...base, metric: "requests_ci95_low", value: String(Math.min(...p.values)) });
    summary.push({ ...base, metric: "requests_ci95_high", value: String(Math.max(...p.values)) });
  }
  const configs = new Set([...perPod.values()].map((p) => p.config));
  return [
    barsWithCI(summary, {
      name: "run-pod-requests",
      title: "Requests served per pod",
      subtitle: "mean over replications; bars: min–max over replications",
      x: "pod",
      xTitle: "pod (node)",
      yTitle: "requests",
      yUnit: "none",
      metric: "requests",
      ...(configs.size > 1 ? { facet: "scenario", facetTitle: "scenario" } : {}),
    }),
  ];
}
