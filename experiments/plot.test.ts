import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../sim/errors.js";
import {
  barsWithCI,
  firstPacketCharts,
  meanWithCI,
  mm1Charts,
  podCharts,
  ruleSyncCharts,
  runCharts,
  series,
  stackedBars,
  textWidth,
  type ChartSpec,
} from "./charts.js";
import { formatDecimal, writeCsvAtomic, type CsvRow } from "./csv.js";
import { plotCsv, renderChart, writeCharts } from "./plot.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "svcsim-plot-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Summary rows of one config: `<metric>_mean` and its CI (±10 %), plus reference values. */
function summary(
  experiment: string,
  params: Record<string, string | number>,
  metrics: Record<string, number>,
  references: Record<string, number> = {},
): CsvRow[] {
  const config = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(";") || "base";
  const base: CsvRow = { experiment, config, replication: "all", seed: "1" };
  for (const [k, v] of Object.entries(params)) base[k] = String(v);
  const rows: CsvRow[] = [];
  for (const [metric, v] of Object.entries(metrics)) {
    rows.push({ ...base, metric: `${metric}_mean`, value: formatDecimal(v) });
    rows.push({ ...base, metric: `${metric}_ci95_low`, value: formatDecimal(Number.isNaN(v) ? v : v * 0.9) });
    rows.push({ ...base, metric: `${metric}_ci95_high`, value: formatDecimal(Number.isNaN(v) ? v : v * 1.1) });
  }
  for (const [metric, v] of Object.entries(references)) rows.push({ ...base, metric, value: formatDecimal(v) });
  return rows;
}

/** first-packet-latency's shape: mode × services, p50 in tens of µs, published p50s for some configs. */
function firstPacketRows(): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const mode of ["iptables", "nftables"]) {
    for (const services of [1000, 5000, 10000, 30000]) {
      const p50 = mode === "iptables" ? 10e-6 + services * 2e-9 : 12e-6;
      const refs: Record<string, number> = services === 1000 ? {} : { published_first_packet_p50_s: p50 * 1.05 };
      rows.push(...summary("first-packet-latency", { mode, services }, { first_packet_p50_s: p50, first_packet_p99_s: p50 * 3 }, refs));
    }
  }
  // One config whose metric is undefined: it must be dropped, not drawn.
  rows.push(...summary("first-packet-latency", { mode: "ipvs", services: 1000 }, { first_packet_p50_s: Number.NaN, first_packet_p99_s: Number.NaN }));
  return rows;
}

function serviceTypeRows(): CsvRow[] {
  const rows: CsvRow[] = [];
  ["ClusterIP", "NodePort", "LoadBalancer", "headless"].forEach((type, i) => {
    for (const discovery of ["dns", "env"]) {
      rows.push(
        ...summary(
          "service-types",
          { type, discovery },
          { p50_latency_s: 0.0004 + i * 0.0002, mean_dns_s: discovery === "dns" ? 0.0003 : 0, mean_network_s: 0.0001 * (i + 1), mean_service_s: 0.002 },
        ),
      );
    }
  });
  return rows;
}

function fairnessRows(): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const connection of ["new", "keepalive", "http2"]) {
    const metrics: Record<string, number> = {};
    for (let w = 0; w < 6; w++) metrics[`jain_index_w${w}`] = connection === "new" ? 0.99 : 0.9 - (w >= 3 ? 0.3 : 0);
    rows.push(...summary("keepalive-fairness", { connection }, metrics));
  }
  return rows;
}

/**
 * What a rendered SVG draws: for each mark of the spec (vega names them `layer_0_marks`, ...), its
 * kind and how many items it drew, summed over the groups it is split into (one per series for
 * lines and areas, one per facet), in document order.
 */
function drawnMarks(svg: string): { name: string; kind: string; items: number }[] {
  const byName = new Map<string, { name: string; kind: string; items: number }>();
  const re = /<g class="mark-(\w+) role-mark ([\w-]+)"[^>]*>/g;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    // A role-mark group holds its items directly, no nested <g>.
    const body = svg.slice(re.lastIndex, svg.indexOf("</g>", re.lastIndex));
    const items = (body.match(/<(path|line|text|rect)\b/g) ?? []).length;
    const entry = byName.get(m[2]) ?? { name: m[2], kind: m[1], items: 0 };
    entry.items += items;
    byName.set(m[2], entry);
  }
  return [...byName.values()];
}

/** Items drawn by each mark of this kind (`symbol`, `line`, `rect`, `rule`, `area`, `text`). */
function itemsOf(svg: string, kind: string): number[] {
  return drawnMarks(svg)
    .filter((m) => m.kind === kind)
    .map((m) => m.items);
}

/** To look at the charts the tests draw: SVCSIM_PLOT_PREVIEW=DIR npx vitest run experiments/plot */
const previewDir = process.env.SVCSIM_PLOT_PREVIEW;

async function render(chart: ChartSpec): Promise<string> {
  const warnings: string[] = [];
  const svg = await renderChart(chart, { onWarning: (w) => warnings.push(w) });
  if (previewDir) await writeCharts(previewDir, [chart]);
  expect(warnings).toEqual([]);
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  expect(svg).not.toContain("NaN");
  expect(svg).not.toContain("undefined");
  expect(svg).toContain('font-family="sans-serif"');
  return svg;
}

describe("chart builders", () => {
  it("meanWithCI: points, CIs and lines per mode, published values as a second series, µs on the axis", async () => {
    const chart = meanWithCI(firstPacketRows(), {
      name: "first-packet-p50",
      title: "First-packet latency, p50",
      x: "services",
      xTitle: "Services",
      metric: "first_packet_p50_s",
      color: "mode",
      yTitle: "first-packet p50",
      reference: { metric: "published_first_packet_p50_s", label: "published" },
    });
    const svg = await render(chart);
    expect(svg).toContain("First-packet latency, p50");
    expect(svg).toContain(">Services</text>");
    expect(svg).toContain(">first-packet p50 (µs)</text>");
    expect(svg).toContain(">published</text>");
    expect(svg).toContain(">iptables</text>");
    expect(svg).not.toContain(">ipvs</text>"); // its only config has NaN: nothing to draw
    // symbols: 8 simulated points, then 6 published diamonds (no published value at 1k)
    expect(itemsOf(svg, "symbol")).toEqual([8, 6]);
    // lines: one per mode for ours, one per mode for the published values
    expect(itemsOf(svg, "line")).toEqual([2, 2]);
    // error bars: one rule per point, and a tick (a rect) at each end
    expect(itemsOf(svg, "rule")).toEqual([8]);
    expect(itemsOf(svg, "rect")).toEqual([8, 8]);
  });

  it("meanWithCI: several metrics as series, log axes, facets", async () => {
    const chart = meanWithCI(firstPacketRows(), {
      name: "first-packet-quantiles",
      title: "First-packet latency",
      x: "services",
      xTitle: "Services",
      metric: [
        { metric: "first_packet_p50_s", label: "p50" },
        { metric: "first_packet_p99_s", label: "p99" },
      ],
      facet: "mode",
      facetTitle: "kube-proxy mode",
      logX: true,
      logY: true,
      yTitle: "first-packet latency",
    });
    const svg = await render(chart);
    expect(svg).toContain(">kube-proxy mode</text>");
    expect(svg).toContain(">p99</text>");
    // two facets × (4 services × 2 quantiles)
    expect(itemsOf(svg, "symbol")).toEqual([16]);
    expect(itemsOf(svg, "line")).toEqual([4]);
  });

  it("barsWithCI: grouped bars with error bars, categories in CSV order", async () => {
    const chart = barsWithCI(serviceTypeRows(), {
      name: "service-types-p50",
      title: "Latency per Service type",
      x: "type",
      xTitle: "Service type",
      color: "discovery",
      colorTitle: "discovery",
      metric: "p50_latency_s",
      yTitle: "p50 latency",
    });
    const svg = await render(chart);
    expect(svg).toContain(">Service type</text>");
    expect(svg).toContain(">p50 latency (ms)</text>");
    // 8 bars, then the error bars' end ticks
    expect(itemsOf(svg, "rect")).toEqual([8, 8, 8]);
    expect(itemsOf(svg, "rule")).toEqual([8]);
    const at = (label: string) => svg.indexOf(`>${label}</text>`);
    expect(at("ClusterIP")).toBeLessThan(at("NodePort"));
    expect(at("NodePort")).toBeLessThan(at("LoadBalancer"));
  });

  it("barsWithCI: a reference as hollow diamonds at the bars", async () => {
    const rows = [
      ...summary("x", { model: "new" }, { error_rate: 0.02 }, { published_error_rate: 0.025 }),
      ...summary("x", { model: "keepalive" }, { error_rate: 0.001 }),
    ];
    const svg = await render(
      barsWithCI(rows, {
        name: "errors",
        title: "Errors",
        x: "model",
        xTitle: "connection model",
        metric: "error_rate",
        yTitle: "error rate",
        yUnit: "%",
        reference: { metric: "published_error_rate", label: "published" },
      }),
    );
    expect(svg).toContain(">error rate (%)</text>");
    expect(itemsOf(svg, "rect")).toEqual([2, 2, 2]);
    expect(itemsOf(svg, "symbol")).toEqual([1]);
  });

  it("stackedBars: one segment per part and category", async () => {
    const svg = await render(
      stackedBars(serviceTypeRows(), {
        name: "breakdown",
        title: "Where the time goes",
        x: "type",
        xTitle: "Service type",
        facet: "discovery",
        metrics: [
          { metric: "mean_dns_s", label: "DNS" },
          { metric: "mean_network_s", label: "network" },
          { metric: "mean_service_s", label: "service" },
        ],
        yTitle: "mean time",
      }),
    );
    expect(svg).toContain(">mean time (ms)</text>");
    // two facets × 4 types × 3 parts
    expect(itemsOf(svg, "rect")).toEqual([24]);
  });

  it("series: one line and CI band per config, event rules labelled", async () => {
    const svg = await render(
      series(fairnessRows(), {
        name: "jain",
        title: "Jain's index per window",
        prefix: "jain_index_w",
        xScale: 10,
        xTitle: "time (s)",
        yTitle: "Jain's fairness index",
        color: "connection",
        events: [{ x: 30, label: "rollout" }],
        guides: [{ y: 1, label: "even" }],
      }),
    );
    expect(svg).toContain(">time (s)</text>");
    expect(svg).toContain(">Jain's fairness index</text>");
    expect(svg).toContain(">rollout</text>");
    expect(svg).toContain(">keepalive</text>");
    expect(itemsOf(svg, "area")).toEqual([3]);
    expect(itemsOf(svg, "line")).toEqual([3]);
    expect(itemsOf(svg, "symbol")).toEqual([18]);
  });

  it("one replication (CIs are NaN): points without error bars, and no warnings", async () => {
    const rows = summary("x", { a: 1 }, { p50_latency_s: 0.002 }).concat(summary("x", { a: 2 }, { p50_latency_s: 0.003 }));
    for (const r of rows) if (r.metric.includes("_ci95_")) r.value = "NaN";
    const svg = await render(meanWithCI(rows, { name: "one", title: "One replication", x: "a", xTitle: "a", metric: "p50_latency_s", yTitle: "p50" }));
    expect(itemsOf(svg, "symbol")).toEqual([2]);
    expect(itemsOf(svg, "rule")).toEqual([]);
    const bars = await render(barsWithCI(rows, { name: "one-bars", title: "One replication", x: "a", xTitle: "a", metric: "p50_latency_s", yTitle: "p50" }));
    expect(itemsOf(bars, "rect")).toEqual([2]);
  });

  it("a chart with no finite values says so instead of drawing an empty frame", async () => {
    const rows = summary("x", { a: 1 }, { p50_latency_s: Number.NaN });
    const svg = await render(meanWithCI(rows, { name: "e", title: "Empty", x: "a", xTitle: "a", metric: "p50_latency_s", yTitle: "p50" }));
    expect(svg).toContain("no finite values of p50_latency_s");
    expect(itemsOf(svg, "symbol")).toEqual([]);
  });

  it("meanWithCI: a reference measured once is a labelled rule per panel; scale and nonNegative", async () => {
    const rows: CsvRow[] = [];
    for (const sync of ["full", "partial"]) {
      for (const services of [1000, 10000]) {
        rows.push(...summary("x", { sync, services }, { np_s: sync === "full" ? services / 1000 : 0.5 }, { kep_s: sync === "full" ? 27 : 5 }));
      }
    }
    // A CI that reaches below zero (few replications): drawn from zero for a time.
    const low = rows.find((r) => r.metric === "np_s_ci95_low" && r.sync === "partial");
    if (low) low.value = "-0.2";
    const chart = meanWithCI(rows, {
      name: "np",
      title: "Network programming",
      x: "services",
      xTitle: "Services",
      metric: "np_s",
      facet: "sync",
      yTitle: "p50 (ms)",
      scale: 1e3,
      reference: { metric: "kep_s", label: "KEP", as: "rule" },
    });
    const svg = await render(chart);
    expect(svg).toContain(">p50 (ms)</text>");
    expect(svg).toContain(">KEP: 27000</text>");
    expect(svg).toContain(">KEP: 5000</text>");
    // one rule per panel (the two configs of a panel carry the same figure), one error bar per point
    expect(itemsOf(svg, "rule")).toEqual([4, 2]);
    expect(itemsOf(svg, "symbol")).toEqual([4]);
    const values = (chart.spec as { data: { values: Record<string, unknown>[] } }).data.values;
    expect(values.filter((d) => d.source === "svcsim").map((d) => d.low)).not.toContain(-200);
    expect(values.some((d) => d.source === "svcsim" && d.low === 0)).toBe(true);
  });

  it("series: from a window parameter, or from points; NaN dropped", async () => {
    const rows: CsvRow[] = [];
    for (const connection of ["new", "http2"]) {
      for (const window of [0, 1, 2, 3]) rows.push(...summary("x", { connection, window }, { jain_index: window === 3 && connection === "new" ? Number.NaN : 0.5 + window / 10 }));
    }
    const fromParam = await render(
      series(rows, { name: "jain-param", title: "Jain", x: "window", metric: "jain_index", color: "connection", xScale: 10, xTitle: "time (s)", yTitle: "Jain's index" }),
    );
    expect(itemsOf(fromParam, "line")).toEqual([2]);
    expect(itemsOf(fromParam, "symbol")).toEqual([7]);
    const fromPoints = await render(
      series([], {
        name: "pts",
        title: "Points",
        points: [
          { x: 0, y: 1, group: "a" },
          { x: 1, y: 2, group: "a" },
          { x: 0, y: 3, group: "b" },
          { x: 1, y: Number.NaN, group: "b" },
        ],
        xTitle: "window",
        yTitle: "value",
      }),
    );
    expect(itemsOf(fromPoints, "symbol")).toEqual([3]);
    expect(itemsOf(fromPoints, "area")).toEqual([]);
    expect(() => series([], { name: "bad", title: "", xTitle: "", yTitle: "", prefix: "a", points: [] })).toThrow(/exactly one/);
  });

  it("long titles wrap to the chart's width; labels are measured, not guessed at 0.8 em", async () => {
    const subtitle = "a subtitle long enough that it cannot possibly fit on one line above a chart of this width, so it wraps";
    const chart = meanWithCI(firstPacketRows(), { name: "t", title: "T", subtitle, x: "services", xTitle: "S", metric: "first_packet_p50_s", yTitle: "y", width: 300 });
    const title = (chart.spec as { title: { subtitle: unknown } }).title;
    expect(Array.isArray(title.subtitle)).toBe(true);
    expect((title.subtitle as string[]).join(" ")).toBe(subtitle);
    expect(textWidth({ fontSize: 10 }, "iii")).toBeLessThan(textWidth({ fontSize: 10 }, "MMM"));
    expect(textWidth({ fontSize: 10, limit: 20 }, "a long label")).toBe(20);
    await render(chart);
  });

  it("firstPacketCharts: p50 and p99 per mode against Services, log axis, published beside", async () => {
    const charts = firstPacketCharts(firstPacketRows());
    expect(charts.map((c) => c.name)).toEqual(["first-packet-p50", "first-packet-p99"]);
    const svg = await render(charts[0]);
    expect(svg).toContain(">Services on the node</text>");
    expect(svg).toContain(">first-packet latency, p50 (µs)</text>");
    expect(svg).toContain(">kube-proxy mode</text>");
    expect(svg).toContain(">published</text>");
    expect(itemsOf(svg, "symbol")).toEqual([8, 6]);
    // p99 has no published rows in the synthetic set: ours only
    const p99 = await render(charts[1]);
    expect(p99).not.toContain(">published</text>");
    // one size only: bars per mode
    const one = firstPacketCharts(firstPacketRows().filter((r) => r.services === "5000"));
    expect(itemsOf(await render(one[0]), "rect")).toEqual([2, 2, 2]);
  });

  it("ruleSyncCharts: per mode against Services, a panel per sync strategy, KEP-3453 as a rule", async () => {
    const rows: CsvRow[] = [];
    for (const mode of ["iptables", "nftables"]) {
      for (const sync of ["full", "partial"]) {
        for (const services of [1000, 10000]) {
          const p50 = (sync === "full" ? 1 : 0.5) * (mode === "iptables" ? services / 2500 : 0.8);
          const refs: Record<string, number> = mode === "iptables" ? { published_kep3453_network_programming_p50_s: sync === "full" ? 27 : 5 } : {};
          rows.push(
            ...summary(
              "rule-sync",
              { mode, services, sync, min_sync_period_s: 1 },
              { network_programming_p50_s: p50, network_programming_p99_s: p50 * 2, sync_duration_mean_s: p50 / 10 },
              refs,
            ),
          );
        }
      }
    }
    const charts = ruleSyncCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["rule-sync-network-programming-p50", "rule-sync-network-programming-p99", "rule-sync-sync-duration"]);
    const svg = await render(charts[0]);
    expect(svg).toContain(">full syncs</text>");
    expect(svg).toContain(">partial syncs</text>");
    expect(svg).toContain(">KEP-3453: 27 s</text>");
    expect(svg).toContain(">KEP-3453: 5 s</text>");
    expect(svg).toContain(">network programming latency, p50 (s)</text>");
    // 2 panels × 2 modes × 2 sizes
    expect(itemsOf(svg, "symbol")).toEqual([8]);
    expect(itemsOf(svg, "line")).toEqual([4]);
    for (const c of charts.slice(1)) await render(c);
    // minSyncPeriod swept too: a panel per (sync, minSyncPeriod)
    const both = rows.flatMap((r) => [r, { ...r, min_sync_period_s: "10", config: `${r.config};m=10` }]);
    const four = await render(ruleSyncCharts(both)[0]);
    expect(four).toContain(">partial syncs, minSyncPeriod 10 s</text>");
    expect(itemsOf(four, "symbol")).toEqual([16]);
  });

  it("mm1Charts: sojourn and wait against λ beside Erlang C", async () => {
    const rows: CsvRow[] = [];
    for (const lambda of [0.5, 0.7, 0.9]) {
      const exact = 1 / (1 - lambda);
      rows.push(
        ...summary("mm1", { lambda, mu: 1, servers: 1 }, { mean_sojourn_s: exact * 1.01, mean_wait_s: exact - 1 }, { analytic_mean_sojourn_s: exact, analytic_mean_wait_s: exact - 1 }),
      );
    }
    const charts = mm1Charts(rows);
    expect(charts.map((c) => c.name)).toEqual(["mm1-mean-sojourn", "mm1-mean-wait"]);
    const svg = await render(charts[0]);
    expect(svg).toContain(">arrival rate λ (1/s)</text>");
    expect(svg).toContain(">mean sojourn time (s)</text>");
    expect(svg).toContain(">exact (Erlang C)</text>");
    expect(itemsOf(svg, "symbol")).toEqual([3, 3]);
    // one config only: one bar, named by its queue
    const one = await render(mm1Charts(rows.filter((r) => r.lambda === "0.5"))[0]);
    expect(one).toContain(">λ = 0.5, μ = 1, c = 1</text>");
    expect(itemsOf(one, "rect")).toEqual([1, 1, 1]);
    expect(itemsOf(one, "symbol")).toEqual([1]);
  });

  it("runCharts and podCharts: the generic charts of svcsim run", async () => {
    const rows = summary(
      "run",
      {},
      { p50_latency_s: 0.003, p99_latency_s: 0.02, mean_latency_s: 0.004, p90_latency_s: 0.01, first_packet_p50_s: Number.NaN, mean_dns_s: 0.001, mean_service_s: 0.002 },
    ).map((r) => ({ ...r, config: "web" }));
    const charts = runCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["run-latency", "run-latency-breakdown"]);
    const svg = await render(charts[0]);
    expect(itemsOf(svg, "rect")).toEqual([4, 4, 4]);
    expect(svg).toContain(">p99</text>");
    await render(charts[1]);
    const pods: CsvRow[] = [];
    for (const r of ["0", "1"]) {
      for (const pod of ["web-0", "web-1", "web-2"]) pods.push({ experiment: "run", config: "web", replication: r, seed: "1", pod, node: "node-1", metric: "requests", value: String(100 + Number(r)) });
    }
    const podSvg = await render(podCharts(pods)[0]);
    expect(podSvg).toContain(">web-1 (node-1)</text>");
    expect(itemsOf(podSvg, "rect")).toEqual([3, 3, 3]);
  });
});

describe("writeCharts and plotCsv", () => {
  const mm1Lookup = (name: string) => (name === "mm1" ? { charts: mm1Charts } : name === "bare" ? {} : undefined);

  async function writeMm1Csv(dir: string): Promise<string> {
    const rows: CsvRow[] = [];
    for (const lambda of [0.5, 0.9]) {
      const exact = 1 / (1 - lambda);
      const params = { lambda, mu: 1, servers: 1, customers: 1000, warmup: 10 };
      rows.push({ experiment: "mm1", config: `lambda=${lambda}`, replication: "0", seed: "1", ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])), metric: "mean_sojourn_s", value: String(exact) });
      rows.push(...summary("mm1", params, { mean_sojourn_s: exact, mean_wait_s: exact - 1 }, { analytic_mean_sojourn_s: exact, analytic_mean_wait_s: exact - 1 }));
    }
    const path = join(dir, "mm1.csv");
    await writeCsvAtomic(path, ["experiment", "config", "replication", "seed", "lambda", "mu", "servers", "customers", "warmup", "metric", "value"], rows);
    return path;
  }

  it("writes one SVG per chart next to the CSV, atomically (no temp files left)", async () => {
    const dir = tempDir();
    const csv = await writeMm1Csv(dir);
    const paths = await plotCsv(csv, mm1Lookup);
    expect(paths).toEqual([join(dir, "mm1-mean-sojourn.svg"), join(dir, "mm1-mean-wait.svg")]);
    for (const p of paths) expect(readFileSync(p, "utf8").startsWith("<svg")).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["mm1-mean-sojourn.svg", "mm1-mean-wait.svg", "mm1.csv"]);
  });

  it("draws a study's CSV as svcsim exp writes it (rows of a real first-packet-latency --quick run)", async () => {
    const dir = tempDir();
    const lines = [
    "experiment,config,replication,seed,mode,services,endpoints,nodes,packets,metric,value",
    "first-packet-latency,mode=iptables;services=5000,0,1,iptables,5000,4,10,10000,first_packet_p50_s,0.000042119326606117945",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p50_s_mean,0.000041923804577117555",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p50_s_ci95_low,0.000041255361955490825",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p50_s_ci95_high,0.000042592247198744284",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p99_s_mean,0.00010236153353517512",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p99_s_ci95_low,0.00010148156358833481",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,first_packet_p99_s_ci95_high,0.00010324150348201543",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,published_first_packet_p50_s,0.000049",
    "first-packet-latency,mode=iptables;services=5000,all,1,iptables,5000,4,10,10000,published_first_packet_p99_s,0.000154",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p50_s_mean,0.00027003060167665505",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p50_s_ci95_low,0.0002638915316363093",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p50_s_ci95_high,0.0002761696717170008",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p99_s_mean,0.0008139032198654178",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p99_s_ci95_low,0.0008115693692084995",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,first_packet_p99_s_ci95_high,0.0008162370705223361",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,published_first_packet_p50_s,0.000274",
    "first-packet-latency,mode=iptables;services=30000,all,1,iptables,30000,4,10,10000,published_first_packet_p99_s,0.000718",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p50_s_mean,0.000013318775873572905",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p50_s_ci95_low,0.00001324241876484337",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p50_s_ci95_high,0.000013395132982302441",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p99_s_mean,0.000031896829207362754",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p99_s_ci95_low,0.000031896829207362754",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,first_packet_p99_s_ci95_high,0.000031896829207362754",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,published_first_packet_p50_s,0.000014",
    "first-packet-latency,mode=nftables;services=5000,all,1,nftables,5000,4,10,10000,published_first_packet_p99_s,0.000038",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p50_s_mean,0.000014332184514027908",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p50_s_ci95_low,0.000014260978285809492",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p50_s_ci95_high,0.000014403390742246324",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p99_s_mean,0.000032978078786217095",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p99_s_ci95_low,0.00003272792208535694",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,first_packet_p99_s_ci95_high,0.00003322823548707725",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,published_first_packet_p50_s,0.000014",
    "first-packet-latency,mode=nftables;services=30000,all,1,nftables,30000,4,10,10000,published_first_packet_p99_s,0.000039",
    ];
    const csv = join(dir, "first-packet-latency.csv");
    writeFileSync(csv, `${lines.join("\n")}\n`);
    const paths = await plotCsv(csv, (name) => (name === "first-packet-latency" ? { charts: firstPacketCharts } : undefined));
    expect(paths).toEqual([join(dir, "first-packet-p50.svg"), join(dir, "first-packet-p99.svg")]);
    for (const p of paths) {
      const svg = readFileSync(p, "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).not.toContain("NaN");
      // 2 modes × 2 sizes, ours and published
      expect(itemsOf(svg, "symbol")).toEqual([4, 4]);
    }
  });

  it("draws run's summary.csv and pods.csv without a lookup", async () => {
    const dir = tempDir();
    const summaryRows = summary("run", {}, { p50_latency_s: 0.003, p99_latency_s: 0.02 }).map((r) => ({ ...r, config: "web" }));
    await writeCsvAtomic(join(dir, "summary.csv"), ["experiment", "config", "replication", "seed", "metric", "value"], summaryRows);
    await writeCsvAtomic(join(dir, "pods.csv"), ["experiment", "config", "replication", "seed", "pod", "node", "metric", "value"], [
      { experiment: "run", config: "web", replication: "0", seed: "1", pod: "web-0", node: "node-1", metric: "requests", value: "10" },
    ]);
    expect(await plotCsv(join(dir, "summary.csv"), () => undefined)).toEqual([join(dir, "run-latency.svg")]);
    expect(await plotCsv(join(dir, "pods.csv"), () => undefined)).toEqual([join(dir, "run-pod-requests.svg")]);
  });

  it("refuses chart names that are not plain file names, or used twice", async () => {
    const dir = tempDir();
    const chart = mm1Charts(summary("mm1", { lambda: 0.5 }, { mean_sojourn_s: 2 }))[0];
    await expect(writeCharts(dir, [{ ...chart, name: "../evil" }])).rejects.toThrow(/plain file name/);
    await expect(writeCharts(dir, [chart, chart])).rejects.toThrow(/two charts/);
    expect(readdirSync(dir)).toEqual([]);
  });

  async function inputError(csv: string, lookup = mm1Lookup): Promise<InputError> {
    const err: unknown = await plotCsv(csv, lookup).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.file).toBe(csv);
    expect(e.format()).toContain(csv);
    return e;
  }

  it("bad CSVs are InputErrors that name the file", async () => {
    const dir = tempDir();
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    expect((await inputError(join(dir, "missing.csv"))).found).toBe("no such file");
    await inputError(dir);
    expect((await inputError(file("empty.csv", ""))).message).toMatch(/empty/);
    expect((await inputError(file("header.csv", "experiment,config,replication,seed,metric,value\n"))).message).toMatch(/no rows/);
    expect((await inputError(file("other.csv", "a,b,c\n1,2,3\n"))).fieldPath).toBe("header");
    const unknown = await inputError(file("unknown.csv", "experiment,config,replication,seed,metric,value\nnope,base,all,1,x_mean,1\n"));
    expect(unknown.found).toBe('"nope"');
    expect((await inputError(file("bare.csv", "experiment,config,replication,seed,metric,value\nbare,base,all,1,x_mean,1\n"))).message).toMatch(/no charts/);
    expect((await inputError(file("shard.csv", "experiment,config,replication,seed,metric,value\nmm1,base,0,1,x,1\n"))).message).toMatch(/no summary rows/);
    expect((await inputError(file("mixed.csv", "experiment,config,replication,seed,metric,value\nmm1,base,all,1,x_mean,1\nrun,base,all,1,x_mean,1\n"))).fieldPath).toBe("line 3, column experiment");
    // nothing was drawn for any of them
    expect(readdirSync(dir).filter((f) => f.endsWith(".svg"))).toEqual([]);
  });
});
