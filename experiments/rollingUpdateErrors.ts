/**
 * rolling-update-errors: why clients see errors during a rollout, and what removes them. A
 * deleted pod's app stops accepting connections at SIGTERM; every node keeps sending it new
 * connections until its kube-proxy has programmed the EndpointSlice change (controller delay,
 * watch delay, minSyncPeriod, the sync itself — longer with more Services). A preStop sleep
 * longer than that keeps the app serving until the rules have moved on.
 */
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { churnDoc, clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { getProxyMode } from "../models/proxy/modes.js";
import { formatPercent, summaryValue } from "./rows.js";
import { rollingUpdateErrorsCharts } from "./studyCharts.js";

/** `services - 1` filler Services selecting two filler pods: the rule set of a bigger cluster. */
function fillerServices(count: number): string[] {
  if (count <= 0) return [];
  const docs = [deploymentDoc({ name: "filler", replicas: 2, serviceTime: "exp(1ms)" })];
  for (let i = 0; i < count; i++) {
    docs.push(serviceDoc(`filler-${i}`, { selector: { app: "filler" }, ports: [{ port: 80, targetPort: 8080 }] }));
  }
  return docs;
}

function run(config: Config, ctx: RunContext): Metrics {
  const yaml = stream(
    clusterDoc({
      nodes: 3,
      kubeProxy: { mode: config.mode, minSyncPeriod: `${config.min_sync_period_s}s` },
    }),
    deploymentDoc({
      name: "web",
      replicas: 6,
      serviceTime: "exp(2ms)",
      concurrency: 16,
      preStopSleepSeconds: Number(config.pre_stop_s),
      terminationGracePeriodSeconds: 30,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    }),
    serviceDoc("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] }),
    ...fillerServices(Number(config.services) - 1),
    workloadDoc([
      { name: "users", from: "node-1", target: "web:80", arrival: `poisson(${config.rate}/s)`, connection: "new", timeout: "2s" },
    ]),
    churnDoc([{ at: "5s", rollout: "web" }]),
    runDoc(`${config.duration_s}s`, "2s"),
  );
  const s = simulateYaml("rolling-update-errors", yaml, ctx.streams).summary;
  return {
    error_rate: s.error_rate,
    errors: s.errors,
    errors_refused: s.errors_refused,
    errors_timeout: s.errors_timeout,
    errors_reset: s.errors_reset,
    errors_no_endpoints: s.errors_no_endpoints,
    requests: s.requests,
    p99_latency_s: s.p99_latency_s,
    network_programming_p50_s: s.network_programming_p50_s,
    network_programming_p99_s: s.network_programming_p99_s,
    kube_proxy_sync_busy_s_per_node: s.kube_proxy_sync_busy_s_per_node,
  };
}

export const rollingUpdateErrors: ExperimentDefinition = {
  name: "rolling-update-errors",
  question: "How many requests fail during a rollout, and how much preStop sleep makes it zero?",
  params: {
    pre_stop_s: { description: "preStop sleep of the pods (s)", kind: "integer", default: [0, 2, 5, 10], min: 0, max: 3600 },
    min_sync_period_s: { description: "kube-proxy --min-sync-period (s)", kind: "number", default: [1, 5], min: 0, max: 600 },
    mode: { description: "kube-proxy mode", kind: "string", default: ["iptables", "ipvs", "nftables"], choices: ["iptables", "ipvs", "nftables"] },
    services: { description: "Services in the cluster (rule-set size)", kind: "integer", default: [10, 2000], min: 1, max: 20_000 },
    rate: { description: "new connections (requests) per second", kind: "number", default: 500, min: 0, exclusiveMin: true, max: 1e6 },
    duration_s: { description: "simulated seconds (the rollout starts at 5 s)", kind: "integer", default: 60, min: 20, max: 36_000 },
  },
  quick: { pre_stop_s: [0, 5], min_sync_period_s: 1, mode: ["iptables", "nftables"], services: [10, 1000], duration_s: 40 },
  tiny: { pre_stop_s: [0, 5], mode: "iptables", services: 10, duration_s: 25, rate: 200 },
  replications: { full: 5, quick: 3 },
  validate(config) {
    getProxyMode(String(config.mode), "--set mode");
  },
  headlines(rows) {
    const stops = [...new Set(rows.map((r) => Number(r.pre_stop_s)))].sort((a, b) => a - b);
    const first = rows.find((r) => r.replication === "all");
    if (!first) return [];
    const where = (preStop: number) => ({ mode: first.mode, services: first.services, min_sync_period_s: first.min_sync_period_s, pre_stop_s: preStop });
    return stops.map(
      (s) => `${first.mode}, ${first.services} Services: preStop ${s} s → ${formatPercent(summaryValue(rows, where(s), "error_rate_mean"))} of requests fail during the rollout`,
    );
  },
  charts: rollingUpdateErrorsCharts,
  run,
  // Requests simulated, and the planes recompiled on every endpoint change.
  cost: (config) => Number(config.rate) * Number(config.duration_s) * (1 + Number(config.services) / 1000),
};
