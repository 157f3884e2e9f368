/**
 * The chart sets of the studies that measure a Service's behaviour (service-types,
 * keepalive-fairness, rolling-update-errors, traffic-policy, headless-dns, dns-ndots,
 * conntrack-limit): pure functions from a study's result rows to charts, built with the
 * builders of charts.ts in the style of its chart sets (mm1Charts, ruleSyncCharts).
 *
 * Every chart set adapts to what the rows sweep: a parameter the CSV holds at one value is said
 * in a subtitle, not drawn as a legend of one entry or a panel of its own; one that a `--set`
 * sweep varies becomes a colour or a small chart. Categories are shown under readable labels
 * (a derived column), in the order the study lists them.
 */
import {
  barsWithCI,
  distinctValues,
  meanWithCI,
  series,
  stackedBars,
  windowPoints,
  type ChartSpec,
  type MetricLabel,
  type SeriesPoint,
  type TextItem,
  wrap,
} from "./charts.js";
import type { CsvRow } from "./csv.js";

// ---------------------------------------------------------------------------------------------
// Helpers shared by the chart sets.

/** A parameter that may become a panel (a small chart), with how its value reads in the panel's header. */
interface PanelParam {
  param: string;
  label: (value: string) => string;
}

/** Facet options of the builders: none, or one small chart per value of `column`. */
interface Facet {
  facet?: string;
  facetTitle?: string;
  facetColumns?: number;
}

/** The column added for panels; a derived column, so it must not clash with a study's parameter. */
const PANEL = "panel_label";

function swept(rows: readonly CsvRow[], param: string): boolean {
  return distinctValues(rows, param).length > 1;
}

/** The one value a parameter has in these rows, or undefined when it is swept (or absent). */
function single(rows: readonly CsvRow[], param: string): string | undefined {
  const values = distinctValues(rows, param);
  return values.length === 1 ? values[0] : undefined;
}

/** The rows with one more column, computed from each row (a readable label of a parameter). */
function withColumn(rows: readonly CsvRow[], column: string, value: (row: CsvRow) => string): CsvRow[] {
  return rows.map((r) => ({ ...r, [column]: value(r) }));
}

/** A label from a table, or the value itself when the table does not have it (a new choice). */
function labelOf(table: Readonly<Record<string, string>>): (value: string) => string {
  return (value) => table[value] ?? value;
}

/**
 * One small chart per combination of the swept parameters among `params` (none swept: no
 * panels). Returns the rows with the panel column and the facet options to spread into a builder.
 */
function panels(rows: readonly CsvRow[], params: readonly PanelParam[], columns = 2): { rows: CsvRow[]; facet: Facet } {
  const used = params.filter((p) => swept(rows, p.param));
  if (used.length === 0) return { rows: [...rows], facet: {} };
  const out = withColumn(rows, PANEL, (r) => used.map((p) => p.label(r[p.param] ?? "")).join(", "));
  const count = distinctValues(out, PANEL).length;
  return { rows: out, facet: { facet: PANEL, facetTitle: "", facetColumns: Math.min(columns, count) } };
}

/** "iptables mode, 3 replications" and the like: what holds for every bar of a chart. */
function fixed(rows: readonly CsvRow[], params: readonly PanelParam[]): string {
  const parts: string[] = [];
  for (const p of params) {
    const v = single(rows, p.param);
    if (v !== undefined) parts.push(p.label(v));
  }
  return parts.join(", ");
}

/** Replications behind each summary: the per-replication rows of the first config. */
function replications(rows: readonly CsvRow[]): number {
  const first = rows[0]?.config;
  return new Set(rows.filter((r) => r.config === first && r.replication !== "all").map((r) => r.replication)).size;
}

/** "mean of 3 replications with 95 % CI" (or just "mean" when the CSV has no per-replication rows, as after a merge of summaries). */
function meanOf(rows: readonly CsvRow[], ci = true): string {
  const n = replications(rows);
  const of = n > 0 ? `mean of ${n} replication${n === 1 ? "" : "s"}` : "mean of replications";
  return ci && n !== 1 ? `${of} with 95 % CI` : of;
}

/** Joins the non-empty parts of a subtitle with "; ". */
function subtitle(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined && p !== "").join("; ");
}

/**
 * Several metrics of each config as one metric with a column that says which: e.g.
 * `share_busiest_pod` and `share_least_busy_pod` as `share` with `which` = "busiest pod" /
 * "least busy pod", each with its own reference (`expected_share_busiest_pod`, ...) under one
 * name. The builders take one reference metric per chart; this gives each panel its own.
 */
function unpivot(rows: readonly CsvRow[], as: string, column: string, parts: readonly { metric: string; reference?: string; label: string }[]): CsvRow[] {
  const out: CsvRow[] = [];
  // Part by part: the builders order panels (and bars) by first appearance.
  for (const p of parts) {
    for (const r of rows) {
      if (r.replication !== "all") continue;
      let metric: string | undefined;
      for (const suffix of ["_mean", "_ci95_low", "_ci95_high"]) {
        if (r.metric === `${p.metric}${suffix}`) metric = `${as}${suffix}`;
      }
      if (p.reference !== undefined && r.metric === p.reference) metric = `expected_${as}`;
      if (metric !== undefined) out.push({ ...r, config: `${r.config}\u0000${p.label}`, [column]: p.label, metric });
    }
  }
  return out;
}

/**
 * The rows with the 95 % CIs of the metrics that `bounded` accepts cut to [low, high]: a
 * t-interval over a few replications can reach past what the quantity can be (Jain's index
 * lies in (0, 1]), and an error bar up to 1.3 would say something the data cannot.
 */
function clampCI(rows: readonly CsvRow[], bounded: (metric: string) => boolean, low: number, high: number): CsvRow[] {
  return rows.map((r) => {
    const m = /^(.*)_ci95_(low|high)$/.exec(r.metric ?? "");
    if (!m || !bounded(m[1])) return r;
    const v = Number(r.value);
    if (!Number.isFinite(v)) return r;
    const cut = Math.min(high, Math.max(low, v));
    return cut === v ? r : { ...r, value: String(cut) };
  });
}

/** Jain's index and its per-window and before/after variants. */
const isJain = (metric: string): boolean => metric.startsWith("jain_");

/**
 * The chart with its quantitative y scales fixed to `domain`. Jain's index lies in (0, 1]: a
 * little room above 1 keeps the event's label at the top of a panel clear of a line at 1.
 */
function withYDomain(chart: ChartSpec, domain: [number, number]): ChartSpec {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    const encoding = record.encoding as Record<string, unknown> | undefined;
    const y = encoding?.y as Record<string, unknown> | undefined;
    if (y && y.type === "quantitative" && y.scale !== null && typeof y.scale === "object") {
      y.scale = { ...(y.scale as Record<string, unknown>), domain, nice: false };
    }
    for (const value of Object.values(record)) visit(value);
  };
  const spec = structuredClone(chart.spec);
  visit(spec);
  return { ...chart, spec };
}

const TITLE_FONT: TextItem = { fontSize: 15, fontWeight: "bold" };
const SUBTITLE_FONT: TextItem = { fontSize: 12 };
/** Room the y axis takes left of the plot, as charts.ts reckons it. */
const Y_AXIS_ROOM = 50;
/** Space between small charts (vega-lite's default). */
const FACET_SPACING = 20;
/**
 * Of the width a title may take, the part our lines fill. The DejaVu Sans that Linux renders
 * for sans-serif runs up to about 9 % wider than the width estimate on lowercase text, so a
 * line filled to the estimate is cut at the SVG's edge when the title is its widest element.
 */
const TITLE_FILL = 0.88;

/**
 * The chart with its title and subtitle re-wrapped to a little less than the chart's width,
 * so that no line runs past the edge of the SVG whatever sans-serif font draws it.
 */
function fitTitle(chart: ChartSpec): ChartSpec {
  const spec = structuredClone(chart.spec) as unknown as Record<string, unknown>;
  const title = spec.title;
  if (title === null || typeof title !== "object" || Array.isArray(title)) return chart;
  const inner = spec.spec as Record<string, unknown> | undefined;
  let plot: number | undefined;
  if (typeof spec.width === "number") plot = spec.width;
  else if (inner && typeof inner.width === "number") {
    const columns = typeof spec.columns === "number" ? spec.columns : 1;
    plot = columns * inner.width + (columns - 1) * FACET_SPACING;
  }
  if (plot === undefined) return chart;
  const budget = (plot + Y_AXIS_ROOM) * TITLE_FILL;
  const t = title as Record<string, unknown>;
  const rewrap = (value: unknown, font: TextItem): unknown => {
    const text = Array.isArray(value) ? value.join(" ") : value;
    return typeof text === "string" ? wrap(text, font, budget) : value;
  };
  spec.title = { ...t, text: rewrap(t.text, TITLE_FONT), ...(t.subtitle !== undefined ? { subtitle: rewrap(t.subtitle, SUBTITLE_FONT) } : {}) };
  return { ...chart, spec: spec as unknown as ChartSpec["spec"] };
}

/** `mode` as the subtitle says it when it is not swept. */
const MODE: PanelParam = { param: "mode", label: (v) => `${v} mode` };

// ---------------------------------------------------------------------------------------------
// service-types

const SERVICE_PATHS: Readonly<Record<string, string>> = {
  "clusterip-dns": "ClusterIP, by DNS",
  "clusterip-env": "ClusterIP, by env var",
  nodeport: "NodePort",
  loadbalancer: "LoadBalancer",
  headless: "headless",
  externalname: "ExternalName",
};

const SERVICE_TYPE_PANELS: readonly PanelParam[] = [
  { param: "connection", label: (v) => (v === "new" ? "new connection per request" : `${v} connections`) },
  MODE,
  { param: "zones", label: (v) => (v === "1" ? "all nodes in one zone" : `nodes in ${v} zones`) },
];

const BREAKDOWN: MetricLabel[] = [
  { metric: "mean_dns_s", label: "DNS lookup" },
  { metric: "mean_connect_s", label: "connection set-up" },
  { metric: "mean_network_s", label: "network (request, response)" },
  { metric: "mean_queue_s", label: "queue at the pod" },
  { metric: "mean_service_s", label: "service at the pod" },
];

/**
 * service-types: where a request's time goes along each Service type's path (stacked: DNS,
 * connection set-up, network, queue, service), its p50 and p99, and the first packet's work in
 * the node's data plane — one bar per path, panels for swept connection models, modes, zones.
 */
export function serviceTypesCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildServiceTypesCharts(rows).map(fitTitle);
}

function buildServiceTypesCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const labelled = withColumn(rows, "path_label", (r) => labelOf(SERVICE_PATHS)(r.path ?? ""));
  const { rows: data, facet } = panels(labelled, SERVICE_TYPE_PANELS);
  const given = fixed(rows, SERVICE_TYPE_PANELS);
  const common = { x: "path_label", xTitle: "path from client to pod", ...facet };
  return [
    stackedBars(data, {
      ...common,
      name: "service-types-breakdown",
      title: "Where a request's time goes, per Service type and discovery",
      subtitle: subtitle(given, `${meanOf(rows, false)}, stacked`),
      yTitle: "mean time per request",
      metrics: BREAKDOWN,
      colorTitle: "part of the request",
    }),
    barsWithCI(data, {
      ...common,
      name: "service-types-latency",
      title: "Request latency per Service type and discovery",
      subtitle: subtitle(given, meanOf(rows)),
      yTitle: "request latency",
      metric: [
        { metric: "p50_latency_s", label: "p50" },
        { metric: "p99_latency_s", label: "p99" },
      ],
      colorTitle: "percentile",
    }),
    barsWithCI(data, {
      ...common,
      name: "service-types-first-packet",
      title: "Data-plane work on a new connection's first packet, per path",
      subtitle: subtitle(given, meanOf(rows), "ExternalName has no kube-proxy on its path"),
      yTitle: "first-packet work",
      metric: [
        { metric: "first_packet_p50_s", label: "p50" },
        { metric: "first_packet_p99_s", label: "p99" },
      ],
      colorTitle: "percentile",
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// keepalive-fairness

/** The study's warm-up (s): its fairness windows are 1 s wide from there on. */
const FAIRNESS_WARMUP_S = 2;

function connectionLabel(row: CsvRow): string {
  switch (row.connection) {
    case "new":
      return "new connection per request";
    case "keepalive":
      return `keep-alive, pool of ${row.pool ?? "?"}`;
    case "http2":
      return "HTTP/2, one connection";
    default:
      return row.connection ?? "";
  }
}

function fairnessEventLabel(row: CsvRow): string {
  const at = Math.round(Number(row.duration_s) / 3);
  const when = Number.isFinite(at) ? ` at ${at} s` : "";
  switch (row.event) {
    case "rollout":
      return `rollout${when}`;
    case "scale-up": {
      const pods = Number(row.pods);
      return Number.isFinite(pods) ? `scale-up from ${pods} to ${pods * 2} pods${when}` : `scale-up${when}`;
    }
    case "none":
      return "no event";
    default:
      return row.event ?? "";
  }
}

/**
 * keepalive-fairness: Jain's index of the requests per pod in each 1 s window, over time, one
 * line per connection model, a panel per event (rollout, scale-up) with the event marked; and
 * bars of the index before and after the event, and of the busiest pod's load.
 */
export function keepaliveFairnessCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildKeepaliveFairnessCharts(rows).map(fitTitle);
}

function buildKeepaliveFairnessCharts(rows: readonly CsvRow[]): ChartSpec[] {
  let labelled = withColumn(clampCI(rows, isJain, 0, 1), "connection_label", connectionLabel);
  labelled = withColumn(labelled, "event_label", fairnessEventLabel);
  const byEvent = swept(rows, "event");
  const facet: Facet = byEvent ? { facet: "event_label", facetTitle: "", facetColumns: 1 } : {};
  const other = swept(rows, "pods") || swept(rows, "clients") || swept(rows, "rate") || swept(rows, "pool");
  // Other sweeps (pods, clients, rate, pool) are told apart by their config in the legend.
  const group = other ? "config" : "connection_label";
  const points: SeriesPoint[] = windowPoints(labelled, "jain_window_", { group, facet: facet.facet }).map((p) => ({
    ...p,
    // Window k covers [warm-up + k, warm-up + k + 1) s of the run: drawn at its middle.
    x: FAIRNESS_WARMUP_S + p.x + 0.5,
  }));
  const events = distinctValues(rows, "event").filter((e) => e !== "none");
  const eventTimes = [...new Set(distinctValues(rows, "duration_s").map((d) => Math.round(Number(d) / 3)).filter((t) => Number.isFinite(t)))];
  const eventName = events.length === 1 ? events[0] : "event";
  const onePanel = single(rows, "event");
  const setting = [
    single(rows, "pods") !== undefined ? `${single(rows, "pods")} pods` : undefined,
    single(rows, "clients") !== undefined ? `${single(rows, "clients")} clients` : undefined,
    single(rows, "rate") !== undefined ? `${single(rows, "rate")} requests/s` : undefined,
  ]
    .filter((p) => p !== undefined)
    .join(", ");
  const eventTitle = onePanel !== undefined && onePanel !== "none" ? `, ${fairnessEventLabel(labelled.find((r) => r.event === onePanel) ?? {})}` : "";
  return [
    withYDomain(series(labelled, {
      name: "keepalive-fairness-jain-over-time",
      title: `How evenly requests spread over the pods, second by second${eventTitle}`,
      subtitle: subtitle(setting, `Jain's index of requests per ready pod in 1 s windows, ${meanOf(rows)} (band)`),
      points,
      xTitle: "time since the start of the run (s)",
      yTitle: "Jain's index (1 = even)",
      yUnit: "none",
      colorTitle: other ? "config" : "clients' connections",
      ...facet,
      ...(byEvent ? { height: 180, width: 560 } : {}),
      events: events.length > 0 ? eventTimes.map((t) => ({ x: t, label: eventName })) : [],
      guides: [{ y: 1, label: "even" }],
    }), [0, 1.12]),
    barsWithCI(labelled, {
      name: "keepalive-fairness-before-after",
      title: `Jain's index before and after the ${eventName}`,
      subtitle: subtitle(setting, `${meanOf(rows)}; after = from 10 s past the event to the end`),
      x: "connection_label",
      xTitle: "clients' connections",
      yTitle: "Jain's index (1 = even)",
      yUnit: "none",
      metric: [
        { metric: "jain_before_event", label: "before" },
        { metric: "jain_after_event", label: "after" },
        { metric: "jain_min_after_event", label: "worst second after" },
      ],
      colorTitle: "windows",
      ...(byEvent ? { facet: "event_label", facetTitle: "", facetColumns: 2 } : {}),
    }),
    barsWithCI(labelled, {
      name: "keepalive-fairness-busiest-pod",
      title: "Load of the busiest pod, relative to the mean pod",
      subtitle: subtitle(setting, `requests of the busiest pod ÷ mean requests per pod over the run, ${meanOf(rows)}`),
      x: "connection_label",
      xTitle: "clients' connections",
      yTitle: "busiest pod ÷ mean pod",
      yUnit: "none",
      metric: "max_over_mean_load",
      nonNegative: true,
      ...(byEvent ? { color: "event_label", colorTitle: "event" } : {}),
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// rolling-update-errors

const ROLLOUT_PANELS: readonly PanelParam[] = [
  { param: "services", label: (v) => `${v} Service${v === "1" ? "" : "s"}` },
  { param: "min_sync_period_s", label: (v) => `minSyncPeriod ${v} s` },
];

const ERROR_KINDS: MetricLabel[] = [
  { metric: "errors_refused", label: "refused (pod stopped listening)" },
  { metric: "errors_reset", label: "reset (pod killed mid-request)" },
  { metric: "errors_timeout", label: "timed out" },
  { metric: "errors_no_endpoints", label: "no endpoints" },
];

/**
 * rolling-update-errors: the fraction of requests that fail during the rollout against the
 * pods' preStop sleep, one colour per mode, a panel per Service count and minSyncPeriod; the
 * network programming latency that the preStop sleep must outlast; and the kinds of errors.
 */
export function rollingUpdateErrorsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildRollingUpdateErrorsCharts(rows).map(fitTitle);
}

function buildRollingUpdateErrorsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const { rows: data, facet } = panels(rows, ROLLOUT_PANELS);
  const given = fixed(rows, [...ROLLOUT_PANELS, MODE, { param: "rate", label: (v) => `${v} new connections/s` }]);
  const byMode = swept(rows, "mode");
  const byStop = swept(rows, "pre_stop_s");
  const modeColor = byMode ? { color: "mode", colorTitle: "kube-proxy mode" } : {};
  const errorRate = {
    name: "rolling-update-error-rate",
    title: "Requests that fail during a rolling update, by preStop sleep",
    subtitle: subtitle(given, meanOf(rows)),
    metric: "error_rate",
    yTitle: "failed requests",
    yUnit: "%" as const,
    nonNegative: true,
    ...facet,
  };
  const withStop = withColumn(data, "stop_label", (r) => `preStop ${r.pre_stop_s} s`);
  const modeStop = withColumn(withStop, "mode_stop", (r) => (byMode ? `${r.mode}, ${r.stop_label}` : r.stop_label));
  return [
    byStop
      ? meanWithCI(data, { ...errorRate, x: "pre_stop_s", xTitle: "preStop sleep (s)", ...modeColor })
      : barsWithCI(data, { ...errorRate, x: "mode", xTitle: "kube-proxy mode" }),
    barsWithCI(withStop, {
      name: "rolling-update-network-programming",
      title: "Network programming latency during the rollout: what the preStop sleep must outlast",
      subtitle: subtitle(given, `p99 over the rollout's endpoint changes, ${meanOf(rows)}`),
      x: "mode",
      xTitle: "kube-proxy mode",
      metric: "network_programming_p99_s",
      yTitle: "network programming latency, p99",
      ...(byStop ? { color: "stop_label", colorTitle: "pods' preStop" } : {}),
      ...facet,
    }),
    stackedBars(modeStop, {
      name: "rolling-update-error-kinds",
      title: "What the failed requests saw",
      subtitle: subtitle(given, `${meanOf(rows, false)} of failed requests per run, stacked`),
      x: "mode_stop",
      xTitle: byMode ? "kube-proxy mode, preStop sleep" : "preStop sleep",
      yTitle: "failed requests per run",
      yUnit: "none",
      metrics: ERROR_KINDS,
      colorTitle: "error",
      ...facet,
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// traffic-policy

const POLICY_PATHS: Readonly<Record<string, string>> = {
  loadbalancer: "external via LoadBalancer",
  nodeport: "external via NodePort",
  internal: "in-cluster via ClusterIP",
};

const POLICY_PANELS: readonly PanelParam[] = [MODE, { param: "zones", label: (v) => (v === "1" ? "one zone" : `${v} zones`) }];

/**
 * traffic-policy: the busiest and least busy pod's share of the requests, the fraction SNATed
 * and the fraction lost, per way in × policy, with the values the placement implies (hollow
 * diamonds); and the network time per request (the hop that Local saves).
 */
export function trafficPolicyCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildTrafficPolicyCharts(rows).map(fitTitle);
}

function buildTrafficPolicyCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const labelled = withColumn(rows, "path_label", (r) => labelOf(POLICY_PATHS)(r.path ?? ""));
  const given = fixed(rows, [...POLICY_PANELS, { param: "rate", label: (v) => `${v} requests/s` }]);
  const byPolicy = swept(rows, "policy");
  const policyColor = byPolicy ? { color: "policy", colorTitle: "traffic policy" } : {};
  const onePolicy = single(rows, "policy");
  const policyNote = onePolicy !== undefined ? `policy ${onePolicy}` : "";
  const placement = "3 pods: 2 on node-1, 1 on node-2, none on node-3";
  const expected = { metric: "expected_share", label: "expected from the placement" };
  const shares = unpivot(labelled, "share", "which", [
    { metric: "share_busiest_pod", reference: "expected_share_busiest_pod", label: "busiest pod" },
    { metric: "share_least_busy_pod", reference: "expected_share_least_busy_pod", label: "least busy pod" },
  ]);
  const outcomes = unpivot(labelled, "share", "which", [
    { metric: "snat_fraction", reference: "expected_snat_fraction", label: "SNATed: the pod sees a node's IP" },
    { metric: "error_rate", reference: "expected_error_rate", label: "failed: no local endpoint" },
  ]);
  const common = { x: "path_label", xTitle: "way in", ...policyColor };
  return [
    barsWithCI(shares, {
      ...common,
      name: "traffic-policy-pod-shares",
      title: "Share of the requests served by the busiest and the least busy pod",
      subtitle: subtitle(placement, given, policyNote, `${meanOf(rows)}; diamonds: expected`),
      metric: "share",
      yTitle: "share of requests",
      yUnit: "%",
      reference: expected,
      facet: "which",
      facetTitle: "",
      facetColumns: 2,
    }),
    barsWithCI(outcomes, {
      ...common,
      name: "traffic-policy-snat-errors",
      title: "Requests SNATed and requests lost, per way in and traffic policy",
      subtitle: subtitle(placement, given, policyNote, `${meanOf(rows)}; diamonds: expected`),
      metric: "share",
      yTitle: "share of requests",
      yUnit: "%",
      reference: expected,
      facet: "which",
      facetTitle: "",
      facetColumns: 2,
    }),
    barsWithCI(labelled, {
      ...common,
      name: "traffic-policy-network-time",
      title: "Network time per request: the extra node hop of Cluster",
      subtitle: subtitle(given, policyNote, `requests that got an answer, ${meanOf(rows)}`),
      metric: "mean_network_s",
      yTitle: "mean network time per request",
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// headless-dns

function dnsCacheLabel(value: string): string {
  if (value === "none") return "no cache (glibc)";
  if (value === "ttl") return "cached for the TTL (5 s)";
  return `cached for ${value}`;
}

const SERVICE_KINDS: Readonly<Record<string, string>> = { headless: "headless: DNS returns the pod IPs", clusterip: "ClusterIP: kube-proxy balances" };

const HEADLESS_PANELS: readonly PanelParam[] = [
  { param: "rollout", label: (v) => (v === "yes" ? "with a rollout a third of the way in" : "no rollout") },
  { param: "pods", label: (v) => `${v} pods` },
  { param: "clients", label: (v) => `${v} clients` },
];

/**
 * headless-dns: how evenly the requests spread (Jain's index in 1 s windows, and the busiest
 * pod's load) and how many fail after a rollout, per client DNS cache × Service kind.
 */
export function headlessDnsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildHeadlessDnsCharts(rows).map(fitTitle);
}

function buildHeadlessDnsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  let labelled = withColumn(clampCI(rows, isJain, 0, 1), "cache_label", (r) => dnsCacheLabel(r.dns_cache ?? ""));
  labelled = withColumn(labelled, "service_label", (r) => labelOf(SERVICE_KINDS)(r.service ?? ""));
  const { rows: data, facet } = panels(labelled, HEADLESS_PANELS);
  const given = fixed(rows, [...HEADLESS_PANELS, { param: "rate", label: (v) => `${v} requests/s` }]);
  const byService = swept(rows, "service");
  const oneService = single(rows, "service");
  const serviceNote = oneService !== undefined ? `${oneService === "clusterip" ? "ClusterIP" : oneService} Service` : "";
  const common = {
    x: "cache_label",
    xTitle: "client DNS cache",
    ...(byService ? { color: "service_label", colorTitle: "Service" } : {}),
    ...facet,
  };
  return [
    barsWithCI(data, {
      ...common,
      name: "headless-dns-jain",
      title: "How evenly requests spread over the pods, per client DNS cache",
      subtitle: subtitle(serviceNote, given, `Jain's index of requests per pod in 1 s windows, averaged; ${meanOf(rows)}`),
      metric: "jain_per_second_mean",
      yTitle: "Jain's index (1 = even)",
      yUnit: "none",
    }),
    barsWithCI(data, {
      ...common,
      name: "headless-dns-errors",
      title: "Requests that fail: cached answers pointing at pods that are gone",
      subtitle: subtitle(serviceNote, given, meanOf(rows)),
      metric: "error_rate",
      yTitle: "failed requests",
      yUnit: "%",
      nonNegative: true,
    }),
    barsWithCI(data, {
      ...common,
      name: "headless-dns-busiest-pod",
      title: "Load of the busiest pod, relative to the mean pod",
      subtitle: subtitle(serviceNote, given, `over the whole run; ${meanOf(rows)}`),
      metric: "max_over_mean_load",
      yTitle: "busiest pod ÷ mean pod",
      yUnit: "none",
      nonNegative: true,
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// dns-ndots

/** The names as the client writes them (dnsNdots.ts's NAMES). */
const LOOKUP_NAMES: Readonly<Record<string, string>> = {
  short: "web",
  namespaced: "web.default",
  svc: "web.default.svc",
  "fqdn-no-dot": "web.default.svc.cluster.local",
  fqdn: "web.default.svc.cluster.local.",
  external: "db.example.com",
  externalname: "db (ExternalName)",
};

const NDOTS_PANELS: readonly PanelParam[] = [MODE, { param: "query_latency_us", label: (v) => `CoreDNS answers in ${v} µs` }];

/**
 * dns-ndots: DNS queries per lookup (with the count the resolver's rules give against the
 * cluster's zone beside) and the mean time of a lookup, per name as written × ndots.
 */
export function dnsNdotsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildDnsNdotsCharts(rows).map(fitTitle);
}

function buildDnsNdotsCharts(rows: readonly CsvRow[]): ChartSpec[] {
  let labelled = withColumn(rows, "name_label", (r) => labelOf(LOOKUP_NAMES)(r.target_name ?? ""));
  labelled = withColumn(labelled, "ndots_label", (r) => `ndots:${r.ndots}`);
  const { rows: data, facet } = panels(labelled, NDOTS_PANELS);
  const given = fixed(rows, NDOTS_PANELS);
  const byNdots = swept(rows, "ndots");
  const oneNdots = single(rows, "ndots");
  const ndotsNote = oneNdots !== undefined ? `ndots:${oneNdots}` : "";
  const common = {
    x: "name_label",
    xTitle: "name as the client writes it",
    ...(byNdots ? { color: "ndots_label", colorTitle: "resolver" } : {}),
    ...facet,
  };
  return [
    barsWithCI(data, {
      ...common,
      name: "dns-ndots-queries",
      title: "DNS queries per lookup, by how the name is written",
      subtitle: subtitle(ndotsNote, given, `${meanOf(rows)}; diamonds: the resolver's rules against the cluster's zone`),
      metric: "dns_queries_per_lookup",
      yTitle: "queries per lookup",
      yUnit: "none",
      reference: { metric: "expected_queries_per_lookup", label: "expected" },
    }),
    barsWithCI(data, {
      ...common,
      name: "dns-ndots-lookup-time",
      title: "Time a lookup takes, by how the name is written",
      subtitle: subtitle(ndotsNote, given, `no client-side cache; ${meanOf(rows)}`),
      metric: "mean_dns_s",
      yTitle: "mean DNS time per request",
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// conntrack-limit

const CONNTRACK_AXES: readonly { param: string; title: string; label: (v: string) => string }[] = [
  { param: "rate", title: "new connections per second", label: (v) => `${v} connections/s` },
  { param: "conntrack_max", title: "conntrack table max (entries)", label: (v) => `table max ${v}` },
  { param: "time_wait_s", title: "TIME_WAIT timeout (s)", label: (v) => `TIME_WAIT ${v} s` },
];

/**
 * conntrack-limit: the fraction of new connections dropped against the rate, with Little's
 * law's drop fraction beside, one colour per table maximum, a panel per TIME_WAIT timeout; and
 * the table's peak entries against Little's law's (uncapped) estimate. Whichever of the three
 * parameters are swept take the x axis, the colour and the panels, in that order.
 */
export function conntrackLimitCharts(rows: readonly CsvRow[]): ChartSpec[] {
  return buildConntrackLimitCharts(rows).map(fitTitle);
}

function buildConntrackLimitCharts(rows: readonly CsvRow[]): ChartSpec[] {
  const axes = CONNTRACK_AXES.filter((a) => swept(rows, a.param));
  const given = CONNTRACK_AXES.filter((a) => !swept(rows, a.param))
    .map((a) => {
      const v = single(rows, a.param);
      return v === undefined ? "" : a.label(v);
    })
    .filter((s) => s !== "")
    .join(", ");
  const [x, color, panel] = axes;
  const data = panel ? withColumn(rows, PANEL, (r) => panel.label(r[panel.param] ?? "")) : [...rows];
  const layout = {
    ...(color ? { color: color.param, colorTitle: color.title } : {}),
    ...(panel ? { facet: PANEL, facetTitle: "", facetColumns: Math.min(2, distinctValues(data, PANEL).length) } : {}),
  };
  const reference = "Little's law";
  const drops = {
    name: "conntrack-limit-drops",
    title: "New connections dropped because the conntrack table is full",
    subtitle: subtitle(given, `${meanOf(rows)}; hollow: 1 − max ÷ (rate × (TIME_WAIT + lifetime)), Little's law`),
    metric: "error_rate",
    yTitle: "connections dropped",
    yUnit: "%" as const,
    nonNegative: true,
    reference: { metric: "analytic_drop_fraction", label: reference },
    ...layout,
  };
  const entries = {
    name: "conntrack-limit-entries",
    title: "Peak conntrack entries on the client's node",
    subtitle: subtitle(given, `${meanOf(rows)}; hollow: rate × (TIME_WAIT + lifetime), what the table would need`),
    metric: "conntrack_peak_entries",
    yTitle: "conntrack entries",
    yUnit: "none" as const,
    nonNegative: true,
    logY: true,
    reference: { metric: "analytic_conntrack_entries", label: reference },
    ...layout,
  };
  if (!x) {
    const one = withColumn(data, "setting", () => given || "base");
    return [barsWithCI(one, { ...drops, x: "setting", xTitle: "setting" }), barsWithCI(one, { ...entries, x: "setting", xTitle: "setting" })];
  }
  // The study's sweeps grow by factors (100, 400, 1600): evenly spaced categories read best.
  return [meanWithCI(data, { ...drops, x: x.param, xTitle: x.title, xCategorical: true }), meanWithCI(data, { ...entries, x: x.param, xTitle: x.title, xCategorical: true })];
}
