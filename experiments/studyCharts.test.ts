/**
 * The chart sets of studyCharts.ts on synthetic summary rows: the charts each set draws, their
 * titles, axes, legends and marks, the reference values beside ours, what happens when a
 * parameter is not swept, and that nothing renders as NaN.
 */
import { describe, expect, it } from "vitest";
import { textWidth, type ChartSpec } from "./charts.js";
import { formatDecimal, type CsvRow } from "./csv.js";
import { renderChart } from "./plot.js";
import {
  conntrackLimitCharts,
  dnsNdotsCharts,
  headlessDnsCharts,
  keepaliveFairnessCharts,
  rollingUpdateErrorsCharts,
  serviceTypesCharts,
  trafficPolicyCharts,
} from "./studyCharts.js";

type Params = Record<string, string | number>;

/**
 * Rows of one config as the runner writes them: one per-replication row per metric for each of
 * `replications`, then the summary rows `<metric>_mean` with a CI of ±`spread` × the mean,
 * then reference values.
 */
function config(experiment: string, params: Params, metrics: Record<string, number>, references: Record<string, number> = {}, spread = 0.1, replications = 3): CsvRow[] {
  const name = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(";") || "base";
  const base = (replication: string): CsvRow => {
    const row: CsvRow = { experiment, config: name, replication, seed: "1" };
    for (const [k, v] of Object.entries(params)) row[k] = String(v);
    return row;
  };
  const rows: CsvRow[] = [];
  for (let r = 0; r < replications; r++) {
    for (const [metric, v] of Object.entries(metrics)) rows.push({ ...base(String(r)), metric, value: formatDecimal(v) });
  }
  for (const [metric, v] of Object.entries(metrics)) {
    const ci = (f: number) => (Number.isNaN(v) ? v : v * f);
    rows.push({ ...base("all"), metric: `${metric}_mean`, value: formatDecimal(v) });
    rows.push({ ...base("all"), metric: `${metric}_ci95_low`, value: formatDecimal(ci(1 - spread)) });
    rows.push({ ...base("all"), metric: `${metric}_ci95_high`, value: formatDecimal(ci(1 + spread)) });
  }
  for (const [metric, v] of Object.entries(references)) rows.push({ ...base("all"), metric, value: formatDecimal(v) });
  return rows;
}

/** Items drawn by each mark of a kind (`symbol`, `line`, `rect`, `rule`, `area`, `text`), per mark in document order. */
function itemsOf(svg: string, kind: string): number[] {
  const counts = new Map<string, number>();
  const re = new RegExp(`<g class="mark-${kind} role-mark ([\\w-]+)"[^>]*>`, "g");
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const body = svg.slice(re.lastIndex, svg.indexOf("</g>", re.lastIndex));
    counts.set(m[1], (counts.get(m[1]) ?? 0) + (body.match(/<(path|line|text|rect)\b/g) ?? []).length);
  }
  return [...counts.values()];
}

/** Renders a chart and checks what every chart must be: well-formed SVG, no warnings, no NaN. */
async function render(chart: ChartSpec): Promise<string> {
  const warnings: string[] = [];
  const svg = await renderChart(chart, { onWarning: (w) => warnings.push(w) });
  expect(warnings, chart.name).toEqual([]);
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  expect(svg, chart.name).not.toContain("NaN");
  expect(svg, chart.name).not.toContain("undefined");
  return svg;
}

async function renderAll(charts: ChartSpec[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of charts) out.set(c.name, await render(c));
  return out;
}

/** The chart's title and subtitle lines, as the spec gives them. */
function titleLines(chart: ChartSpec): { text: string[]; subtitle: string[] } {
  const title = (chart.spec as { title?: { text?: string | string[]; subtitle?: string | string[] } }).title ?? {};
  const lines = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return { text: lines(title.text), subtitle: lines(title.subtitle) };
}

describe("service-types charts", () => {
  const paths = ["clusterip-dns", "clusterip-env", "nodeport", "loadbalancer", "headless", "externalname"];
  const rows = paths.flatMap((path, i) =>
    config("service-types", { path, connection: "new", mode: "iptables", zones: 3 }, {
      mean_dns_s: path.endsWith("env") || path === "nodeport" || path === "loadbalancer" ? 0 : 0.001,
      mean_connect_s: 0.001 * (i + 1),
      mean_network_s: 0.001 * (i + 1),
      mean_queue_s: 0,
      mean_service_s: 0.001,
      p50_latency_s: 0.004 * (i + 1),
      p99_latency_s: 0.009 * (i + 1),
      first_packet_p50_s: path === "externalname" ? 0 : 6e-7,
      first_packet_p99_s: path === "externalname" ? 0 : 1.2e-6,
    }),
  );

  it("breakdown, latency and first-packet charts with readable path names", async () => {
    const charts = serviceTypesCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["service-types-breakdown", "service-types-latency", "service-types-first-packet"]);
    const svgs = await renderAll(charts);
    const breakdown = svgs.get("service-types-breakdown")!;
    expect(breakdown).toContain("Where a request's time goes");
    expect(breakdown).toContain(">ClusterIP, by env var</text>");
    expect(breakdown).toContain(">mean time per request (ms)</text>");
    expect(breakdown).toContain(">DNS lookup</text>");
    // One stack segment per path and part: 6 paths × 5 parts.
    expect(itemsOf(breakdown, "rect")).toEqual([30]);
    const latency = svgs.get("service-types-latency")!;
    expect(latency).toContain(">p99</text>");
    expect(itemsOf(latency, "rect")[0]).toBe(12);
    expect(svgs.get("service-types-first-packet")).toContain("(µs)</text>");
    // What every bar shares is said once, in the subtitle, not as a legend of one entry.
    expect(titleLines(charts[0]).subtitle.join(" ")).toContain("iptables mode");
  });

  it("a swept mode becomes a panel per mode", async () => {
    const both = [...rows, ...rows.map((r) => ({ ...r, mode: "nftables", config: `${r.config};nft` }))];
    const svg = await render(serviceTypesCharts(both)[0]);
    expect(svg).toContain(">iptables mode</text>");
    expect(svg).toContain(">nftables mode</text>");
  });
});

describe("keepalive-fairness charts", () => {
  function fairness(connection: string, event: string): CsvRow[] {
    const windows: Record<string, number> = {};
    for (let k = 0; k < 30; k++) windows[`jain_window_${String(k).padStart(3, "0")}`] = connection === "new" ? 0.99 : k < 13 ? 0.7 : 0.4;
    return config(
      "keepalive-fairness",
      { connection, event, pods: 10, clients: 8, pool: 2, rate: 1000, duration_s: 45 },
      { jain_index: 0.8, jain_before_event: connection === "new" ? 0.99 : 0.7, jain_after_event: connection === "new" ? 0.98 : 0.4, jain_min_after_event: 0.35, max_over_mean_load: 3, ...windows },
      {},
      // A wide CI, as three replications give: its upper end passes 1.
      0.45,
    );
  }
  const rows = ["new", "keepalive", "http2"].flatMap((c) => ["rollout", "scale-up"].flatMap((e) => fairness(c, e)));

  it("Jain's index over time per connection model, a panel per event, the event marked, CIs kept within [0, 1]", async () => {
    const charts = keepaliveFairnessCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["keepalive-fairness-jain-over-time", "keepalive-fairness-before-after", "keepalive-fairness-busiest-pod"]);
    const svgs = await renderAll(charts);
    const overTime = svgs.get("keepalive-fairness-jain-over-time")!;
    expect(overTime).toContain(">rollout at 15 s</text>");
    expect(overTime).toContain(">scale-up from 10 to 20 pods at 15 s</text>");
    expect(overTime).toContain(">keep-alive, pool of 2</text>");
    expect(overTime).toContain(">HTTP/2, one connection</text>");
    expect(overTime).toContain(">time since the start of the run (s)</text>");
    // Three lines in each of two panels, 30 windows each.
    expect(itemsOf(overTime, "line")).toEqual([6]);
    expect(itemsOf(overTime, "symbol")).toEqual([180]);
    const data = (charts[0].spec as { data: { values: { x: number; low?: number; high?: number }[] } }).data.values;
    // Window 0 covers [2 s, 3 s) of the run (after the 2 s warm-up): drawn at its middle.
    expect(Math.min(...data.map((d) => d.x))).toBe(2.5);
    for (const d of data) {
      if (d.high !== undefined) expect(d.high).toBeLessThanOrEqual(1);
      if (d.low !== undefined) expect(d.low).toBeGreaterThanOrEqual(0);
    }
    const bars = svgs.get("keepalive-fairness-before-after")!;
    expect(bars).toContain(">worst second after</text>");
    // 3 connection models × 3 windows × 2 events.
    expect(itemsOf(bars, "rect")[0]).toBe(18);
  });

  it("one event: no panels, the event in the title", async () => {
    const one = rows.filter((r) => r.event === "rollout");
    const charts = keepaliveFairnessCharts(one);
    expect(charts[0].title).toContain("rollout at 15 s");
    const svg = await render(charts[0]);
    expect(itemsOf(svg, "line")).toEqual([3]);
  });
});

describe("rolling-update-errors charts", () => {
  const rows: CsvRow[] = [];
  for (const pre_stop_s of [0, 5])
    for (const mode of ["iptables", "nftables"])
      for (const services of [10, 1000])
        rows.push(
          ...config(
            "rolling-update-errors",
            { pre_stop_s, min_sync_period_s: 1, mode, services, rate: 500, duration_s: 40 },
            {
              error_rate: pre_stop_s === 0 ? 0.017 : 0,
              errors_refused: pre_stop_s === 0 ? 310 : 0,
              errors_reset: pre_stop_s === 0 ? 1 : 0,
              errors_timeout: pre_stop_s === 0 ? 10 : 0,
              errors_no_endpoints: 0,
              network_programming_p99_s: 1.1,
            },
          ),
        );

  it("error rate against preStop, a colour per mode, a panel per Service count; the p99 to outlast; error kinds", async () => {
    const charts = rollingUpdateErrorsCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["rolling-update-error-rate", "rolling-update-network-programming", "rolling-update-error-kinds"]);
    const svgs = await renderAll(charts);
    const rate = svgs.get("rolling-update-error-rate")!;
    expect(rate).toContain(">failed requests (%)</text>");
    expect(rate).toContain(">preStop sleep (s)</text>");
    expect(rate).toContain(">10 Services</text>");
    expect(rate).toContain(">1000 Services</text>");
    expect(rate).toContain(">nftables</text>");
    // 2 preStops × 2 modes × 2 panels.
    expect(itemsOf(rate, "symbol")).toEqual([8]);
    expect(titleLines(charts[0]).subtitle.join(" ")).toContain("minSyncPeriod 1 s");
    const kinds = svgs.get("rolling-update-error-kinds")!;
    expect(kinds).toContain(">refused (pod stopped listening)</text>");
    expect(kinds).toContain(">nftables, preStop 0 s</text>");
  });

  it("one preStop value: bars per mode", async () => {
    const svg = await render(rollingUpdateErrorsCharts(rows.filter((r) => r.pre_stop_s === "0"))[0]);
    expect(svg).toContain(">kube-proxy mode</text>");
    expect(itemsOf(svg, "rect")[0]).toBe(4);
  });
});

describe("traffic-policy charts", () => {
  const expected = (path: string, policy: string) =>
    policy === "Cluster"
      ? { expected_share_busiest_pod: 1 / 3, expected_share_least_busy_pod: 1 / 3, expected_error_rate: 0, expected_snat_fraction: path === "internal" ? 0 : 1 }
      : { expected_share_busiest_pod: 0.5, expected_share_least_busy_pod: 0.25, expected_error_rate: path === "loadbalancer" ? 0 : 1 / 3, expected_snat_fraction: 0 };
  const rows = ["loadbalancer", "nodeport", "internal"].flatMap((path) =>
    ["Cluster", "Local"].flatMap((policy) => {
      const e = expected(path, policy);
      return config(
        "traffic-policy",
        { path, policy, rate: 1500, mode: "iptables", zones: 3 },
        {
          share_busiest_pod: e.expected_share_busiest_pod,
          share_least_busy_pod: e.expected_share_least_busy_pod,
          error_rate: e.expected_error_rate,
          snat_fraction: e.expected_snat_fraction,
          mean_network_s: policy === "Local" ? 0.01 : 0.011,
        },
        e,
      );
    }),
  );

  it("shares and SNAT/errors in panels, the expected values as diamonds at every bar", async () => {
    const charts = trafficPolicyCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["traffic-policy-pod-shares", "traffic-policy-snat-errors", "traffic-policy-network-time"]);
    const svgs = await renderAll(charts);
    const shares = svgs.get("traffic-policy-pod-shares")!;
    expect(shares).toContain(">busiest pod</text>");
    expect(shares).toContain(">least busy pod</text>");
    expect(shares).toContain(">share of requests (%)</text>");
    expect(shares).toContain(">expected from the placement</text>");
    expect(shares).toContain(">external via NodePort</text>");
    // 3 ways in × 2 policies × 2 panels: as many bars as diamonds.
    expect(itemsOf(shares, "rect")[0]).toBe(12);
    expect(itemsOf(shares, "symbol")).toEqual([12]);
    const outcomes = svgs.get("traffic-policy-snat-errors")!;
    // The panels in the order the chart's title names them.
    const snat = outcomes.indexOf(">SNATed: the pod sees a node's IP</text>");
    expect(snat).toBeGreaterThan(0);
    expect(snat).toBeLessThan(outcomes.indexOf(">failed: no local endpoint</text>"));
  });
});

describe("headless-dns charts", () => {
  const rows = ["headless", "clusterip"].flatMap((service) =>
    ["none", "ttl", "30s"].flatMap((dns_cache) =>
      config(
        "headless-dns",
        { service, dns_cache, rollout: "yes", pods: 10, clients: 6, rate: 600, duration_s: 45 },
        {
          jain_per_second_mean: service === "headless" && dns_cache !== "none" ? 0.45 : 0.92,
          error_rate: service === "headless" && dns_cache === "30s" ? 0.15 : 0,
          max_over_mean_load: 2,
        },
      ),
    ),
  );

  it("Jain's index, errors and the busiest pod per DNS cache, a colour per Service kind", async () => {
    const charts = headlessDnsCharts(rows);
    const svgs = await renderAll(charts);
    const jain = svgs.get("headless-dns-jain")!;
    expect(jain).toContain(">no cache (glibc)</text>");
    expect(jain).toContain(">cached for the TTL (5 s)</text>");
    expect(jain).toContain(">cached for 30s</text>");
    expect(jain).toContain(">headless: DNS returns the pod IPs</text>");
    expect(itemsOf(jain, "rect")[0]).toBe(6);
    expect(svgs.get("headless-dns-errors")).toContain(">failed requests (%)</text>");
  });
});

describe("dns-ndots charts", () => {
  const names = { short: [1, 1], namespaced: [2, 3], "fqdn-no-dot": [4, 1], fqdn: [1, 1], external: [4, 1], externalname: [1, 1] } as const;
  const rows = Object.entries(names).flatMap(([target_name, q]) =>
    [5, 1].flatMap((ndots, i) =>
      config(
        "dns-ndots",
        { target_name, ndots, rate: 200, query_latency_us: 150, mode: "iptables" },
        { dns_queries_per_lookup: q[i], mean_dns_s: q[i] * 0.00097 },
        { expected_queries_per_lookup: q[i] },
        0.02,
      ),
    ),
  );

  it("queries per lookup with the resolver's count beside, and lookup time, per name as written × ndots", async () => {
    const charts = dnsNdotsCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["dns-ndots-queries", "dns-ndots-lookup-time"]);
    const svgs = await renderAll(charts);
    const queries = svgs.get("dns-ndots-queries")!;
    expect(queries).toContain(">web.default.svc.cluster.local.</text>");
    expect(queries).toContain(">db (ExternalName)</text>");
    expect(queries).toContain(">ndots:5</text>");
    expect(queries).toContain(">queries per lookup</text>");
    expect(itemsOf(queries, "symbol")).toEqual([12]);
    expect(svgs.get("dns-ndots-lookup-time")).toContain(">mean DNS time per request (ms)</text>");
  });
});

describe("conntrack-limit charts", () => {
  const rows: CsvRow[] = [];
  for (const rate of [100, 400, 1600])
    for (const conntrack_max of [4096, 16384])
      for (const time_wait_s of [30, 60]) {
        const entries = rate * time_wait_s;
        const drop = entries > conntrack_max ? 1 - conntrack_max / entries : 0;
        rows.push(
          ...config(
            "conntrack-limit",
            { rate, conntrack_max, time_wait_s, periods: 1, mode: "iptables" },
            { error_rate: drop, conntrack_peak_entries: Math.min(entries, conntrack_max) },
            { analytic_drop_fraction: drop, analytic_conntrack_entries: entries },
          ),
        );
      }

  it("drops against the rate with Little's law beside, a colour per table size, a panel per TIME_WAIT", async () => {
    const charts = conntrackLimitCharts(rows);
    expect(charts.map((c) => c.name)).toEqual(["conntrack-limit-drops", "conntrack-limit-entries"]);
    const svgs = await renderAll(charts);
    const drops = svgs.get("conntrack-limit-drops")!;
    expect(drops).toContain(">TIME_WAIT 30 s</text>");
    expect(drops).toContain(">TIME_WAIT 60 s</text>");
    expect(drops).toContain(">Little's law</text>");
    expect(drops).toContain(">conntrack table max (entries)</text>");
    expect(drops).toContain(">connections dropped (%)</text>");
    // Ours (12 points) and Little's law's (12 diamonds).
    expect(itemsOf(drops, "symbol")).toEqual([12, 12]);
  });

  it("nothing swept: bars of the one setting", async () => {
    const one = rows.filter((r) => r.rate === "400" && r.conntrack_max === "4096" && r.time_wait_s === "60");
    const svg = await render(conntrackLimitCharts(one)[0]);
    expect(svg).toContain("400 connections/s, table max 4096, TIME_WAIT 60 s");
  });
});

describe("every chart set", () => {
  it("wraps titles to the chart, with room for a font wider than the estimate", () => {
    const rows = config("headless-dns", { service: "headless", dns_cache: "ttl", rollout: "yes", pods: 10, clients: 6, rate: 200, duration_s: 15 }, {
      jain_per_second_mean: 0.4,
      error_rate: 0.02,
      max_over_mean_load: 2,
    });
    for (const chart of headlessDnsCharts(rows)) {
      const width = (chart.spec as { width?: number }).width ?? 0;
      const { subtitle } = titleLines(chart);
      expect(subtitle.length).toBeGreaterThan(0);
      for (const line of subtitle) expect(textWidth({ fontSize: 12 }, line)).toBeLessThanOrEqual((width + 50) * 0.9);
    }
  });

  it("draw NaN means as nothing, not as a mark", async () => {
    const rows = ["headless", "clusterip"].flatMap((service) =>
      config("headless-dns", { service, dns_cache: "none", rollout: "yes" }, { jain_per_second_mean: service === "headless" ? Number.NaN : 0.9, error_rate: 0, max_over_mean_load: 1.5 }),
    );
    const svg = await render(headlessDnsCharts(rows)[0]);
    expect(itemsOf(svg, "rect")[0]).toBe(1);
  });
});
