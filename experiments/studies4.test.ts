/**
 * traffic-policy, conntrack-limit, dns-ndots and service-types at their tiny size, in-process
 * through the runner: the CSV is well-formed, and the effects point where the model's structure
 * says they must (no timings).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { lookupSequence } from "../models/discovery/dns.js";
import { tempDir } from "../test/cli.js";
import { conntrackLimit } from "./conntrackLimit.js";
import type { ExperimentDefinition } from "./definition.js";
import { dnsNdots } from "./dnsNdots.js";
import { makePlan } from "./plan.js";
import { runPlan } from "./runner.js";
import { serviceTypes } from "./serviceTypes.js";
import { trafficPolicy } from "./trafficPolicy.js";

interface Table {
  header: string[];
  rows: Record<string, string>[];
}

/** Runs the tiny plan and reads back the CSV, checking its shape on the way. */
async function runTiny(def: ExperimentDefinition): Promise<Table> {
  const plan = makePlan(def, { tiny: true, seed: 1 });
  const { csvPath } = await runPlan(def, plan, { outDir: tempDir() });
  const lines = readFileSync(csvPath, "utf8").trim().split("\n");
  const header = lines[0].split(",");
  expect(header).toEqual(["experiment", "config", "replication", "seed", ...Object.keys(def.params), "metric", "value"]);
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(",");
    expect(cells).toHaveLength(header.length);
    for (const c of cells) expect(c).not.toBe("");
    return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
  });
  // Plain decimals, never exponents, and no undefined values (NaN) in these studies.
  for (const r of rows) {
    expect(r.value).toMatch(/^-?\d+(\.\d+)?$/);
    expect(r.experiment).toBe(def.name);
  }
  const replications = new Set(rows.map((r) => r.replication));
  expect([...replications].sort()).toEqual([...Array.from({ length: plan.replications }, (_, i) => String(i)), "all"].sort());
  // Each config has, for each per-replication metric, its mean and CI rows.
  for (const name of plan.configNames) {
    const perRep = new Set(rows.filter((r) => r.config === name && r.replication === "0").map((r) => r.metric));
    expect(perRep.size).toBeGreaterThan(0);
    const summary = new Set(rows.filter((r) => r.config === name && r.replication === "all").map((r) => r.metric));
    for (const m of perRep) for (const suffix of ["_mean", "_ci95_low", "_ci95_high"]) expect(summary.has(`${m}${suffix}`)).toBe(true);
    for (const m of Object.keys((await def.reference?.(plan.configs[plan.configNames.indexOf(name)])) ?? {})) expect(summary.has(m)).toBe(true);
  }
  return { header, rows };
}

/** The summary value of `metric` for the config whose parameters match `where`. */
function value(t: Table, where: Record<string, string | number>, metric: string): number {
  const hits = t.rows.filter((r) => r.replication === "all" && r.metric === metric && Object.entries(where).every(([k, v]) => r[k] === String(v)));
  const configs = new Set(hits.map((r) => r.config));
  expect(configs.size, `${metric} for ${JSON.stringify(where)}`).toBe(1);
  return Number(hits[0].value);
}

describe("traffic-policy (tiny)", () => {
  it("Local keeps the source address and the hop local but splits by node; Cluster spreads evenly with SNAT for external traffic", async () => {
    const t = await runTiny(trafficPolicy);
    for (const path of ["loadbalancer", "nodeport", "internal"]) {
      const local = { path, policy: "Local" };
      const cluster = { path, policy: "Cluster" };
      expect(value(t, local, "snat_fraction_mean")).toBe(0);
      expect(value(t, cluster, "snat_fraction_mean")).toBe(path === "internal" ? 0 : 1);
      // 2 pods on node-1, 1 on node-2: Local gives node-2's pod half of what is served, Cluster a third.
      expect(value(t, local, "share_busiest_pod_mean")).toBeGreaterThan(0.42);
      expect(value(t, cluster, "share_busiest_pod_mean")).toBeLessThan(0.4);
      expect(value(t, local, "jain_index_mean")).toBeLessThan(value(t, cluster, "jain_index_mean"));
      expect(value(t, cluster, "error_rate_mean")).toBe(0);
    }
    // The LB skips node-3 under Local; NodePort and in-cluster traffic that lands there is dropped.
    expect(value(t, { path: "loadbalancer", policy: "Local" }, "error_rate_mean")).toBe(0);
    for (const path of ["nodeport", "internal"]) {
      expect(value(t, { path, policy: "Local" }, "errors_timeout_mean")).toBeGreaterThan(0);
      expect(value(t, { path, policy: "Local" }, "expected_error_rate")).toBeCloseTo(1 / 3, 9);
    }
    // Cluster's extra hop to a pod on another node.
    for (const path of ["loadbalancer", "internal"]) {
      expect(value(t, { path, policy: "Cluster" }, "mean_network_s_mean")).toBeGreaterThan(value(t, { path, policy: "Local" }, "mean_network_s_mean"));
    }
  });
});

describe("conntrack-limit (tiny)", () => {
  it("drops nothing when the table is far larger than rate × TIME_WAIT, and about 1 - max/(rate × TIME_WAIT) when far smaller", async () => {
    const t = await runTiny(conntrackLimit);
    const small = { conntrack_max: 512 };
    const large = { conntrack_max: 16384 };
    const entries = value(t, large, "analytic_conntrack_entries");
    expect(entries).toBeGreaterThan(2 * 512);
    expect(entries).toBeLessThan(16384 / 2);
    expect(value(t, large, "conntrack_drops_mean")).toBe(0);
    expect(value(t, large, "errors_conntrack_full_mean")).toBe(0);
    expect(value(t, large, "conntrack_peak_entries_mean")).toBeLessThan(16384);
    expect(value(t, small, "conntrack_drops_mean")).toBeGreaterThan(0);
    expect(value(t, small, "errors_conntrack_full_mean")).toBeGreaterThan(0);
    expect(value(t, small, "conntrack_peak_entries_mean")).toBe(512);
    expect(Math.abs(value(t, small, "error_rate_mean") - value(t, small, "analytic_drop_fraction"))).toBeLessThan(0.1);
  });
});

describe("dns-ndots (tiny)", () => {
  it("sends exactly the queries the resolver's search rules imply against the zone", async () => {
    const t = await runTiny(dnsNdots);
    const names: Record<string, { host: string; answeredBy: string }> = {
      short: { host: "web", answeredBy: "web.default.svc.cluster.local." },
      namespaced: { host: "web.default", answeredBy: "web.default.svc.cluster.local." },
      fqdn: { host: "web.default.svc.cluster.local.", answeredBy: "web.default.svc.cluster.local." },
      external: { host: "db.example.com", answeredBy: "db.example.com." },
      externalname: { host: "db", answeredBy: "db.default.svc.cluster.local." },
    };
    for (const [kind, { host, answeredBy }] of Object.entries(names)) {
      for (const ndots of [5, 1]) {
        const where = { target_name: kind, ndots };
        const simulated = value(t, where, "dns_queries_per_lookup_mean");
        expect(simulated).toBe(value(t, where, "expected_queries_per_lookup"));
        // Under ndots:5 none of these names reaches 5 dots: the search list comes first, and the
        // lookup ends at the candidate that exists. (Under ndots:1 a dotted name is asked as-is
        // first, and what answers it depends on the outside world: the reference covers that.)
        if (ndots === 5 || kind === "external" || kind === "fqdn") {
          expect(simulated).toBe(lookupSequence(host, "default", ndots).indexOf(answeredBy) + 1);
        }
        expect(value(t, where, "error_rate_mean")).toBe(0);
      }
    }
    expect(value(t, { target_name: "external", ndots: 1 }, "dns_queries_per_lookup_mean")).toBeLessThan(
      value(t, { target_name: "external", ndots: 5 }, "dns_queries_per_lookup_mean"),
    );
    expect(value(t, { target_name: "external", ndots: 1 }, "mean_dns_s_mean")).toBeLessThan(value(t, { target_name: "external", ndots: 5 }, "mean_dns_s_mean"));
  });
});

describe("service-types (tiny)", () => {
  it("each path pays for what it has: DNS, SNAT, the LB's internet leg, no data plane for ExternalName", async () => {
    const t = await runTiny(serviceTypes);
    const v = (path: string, metric: string): number => value(t, { path }, `${metric}_mean`);
    for (const path of ["clusterip-dns", "clusterip-env", "nodeport", "loadbalancer", "headless", "externalname"]) {
      expect(v(path, "error_rate")).toBe(0);
      expect(v(path, "snat_fraction")).toBe(path === "nodeport" || path === "loadbalancer" ? 1 : 0);
      const usesDns = path === "clusterip-dns" || path === "headless" || path === "externalname";
      if (usesDns) expect(v(path, "mean_dns_s")).toBeGreaterThan(0);
      else expect(v(path, "mean_dns_s")).toBe(0);
      expect(v(path, "dns_queries_per_lookup")).toBe(usesDns ? 1 : 0);
      if (path === "externalname") {
        expect(v(path, "first_packet_p50_s")).toBe(0);
        expect(v(path, "mean_service_s")).toBe(0);
      } else {
        expect(v(path, "first_packet_p50_s")).toBeGreaterThan(0);
        expect(v(path, "mean_service_s")).toBeGreaterThan(0);
      }
    }
    expect(v("clusterip-dns", "mean_latency_s")).toBeGreaterThan(v("clusterip-env", "mean_latency_s"));
    expect(v("loadbalancer", "mean_network_s")).toBeGreaterThan(v("nodeport", "mean_network_s"));
    expect(v("nodeport", "mean_network_s")).toBeGreaterThan(v("clusterip-env", "mean_network_s"));
  });
});
