/**
 * headless-dns: balancing through DNS. A headless Service has no virtual IP: DNS answers with
 * the ready pods' IPs (shuffled by CoreDNS), the client connects to one, and keeps using it for
 * as long as it caches the answer. With a cache, a few clients pile onto a few pods; after a
 * rollout, cached answers point at pods that are gone.
 */
import { InputError } from "../sim/errors.js";
import { NS_PER_S } from "../sim/time.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { churnDoc, clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { meanOfFinite } from "./rows.js";
import { headlessDnsCharts } from "./studyCharts.js";

function run(config: Config, ctx: RunContext): Metrics {
  const clients = Number(config.clients);
  const duration = Number(config.duration_s);
  const headless = config.service === "headless";
  const yaml = stream(
    clusterDoc({ nodes: 3, kubeProxy: { mode: "iptables" } }),
    deploymentDoc({
      name: "web",
      replicas: Number(config.pods),
      serviceTime: "exp(2ms)",
      concurrency: 16,
      preStopSleepSeconds: 2,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    }),
    serviceDoc("web", { ...(headless ? { clusterIP: "None" } : {}), selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] }),
    workloadDoc(
      Array.from({ length: clients }, (_, i) => ({
        name: `client-${i}`,
        from: `node-${(i % 3) + 1}`,
        target: "web:80",
        arrival: `poisson(${Number(config.rate) / clients}/s)`,
        connection: "new",
        timeout: "2s",
        dnsCache: config.dns_cache,
      })),
    ),
    churnDoc(config.rollout === "yes" ? [{ at: `${Math.round(duration / 3)}s`, rollout: "web" }] : []),
    runDoc(`${duration}s`, "2s"),
  );
  const r = simulateYaml("headless-dns", yaml, ctx.streams, { fairnessWindow: NS_PER_S });
  const s = r.summary;
  return {
    jain_index: s.jain_index,
    jain_per_second_mean: meanOfFinite(r.jainOverTime),
    max_over_mean_load: s.max_over_mean_load,
    error_rate: s.error_rate,
    errors_refused: s.errors_refused,
    errors_timeout: s.errors_timeout,
    dns_queries_per_lookup: s.dns_queries_per_lookup,
    mean_dns_s: s.mean_dns_s,
    p50_latency_s: s.p50_latency_s,
    p99_latency_s: s.p99_latency_s,
  };
}

export const headlessDns: ExperimentDefinition = {
  name: "headless-dns",
  question: "How well does client-side balancing through a headless Service's DNS spread load, and what goes stale after churn?",
  params: {
    service: { description: "headless (clusterIP: None) or a ClusterIP Service for comparison", kind: "string", default: ["headless", "clusterip"], choices: ["headless", "clusterip"] },
    dns_cache: { description: "client DNS cache: none (glibc), ttl (5 s answers), or a duration", kind: "string", default: ["none", "ttl", "30s"] },
    rollout: { description: "a rolling update a third of the way in", kind: "string", default: ["yes", "no"], choices: ["yes", "no"] },
    pods: { description: "pods behind the Service", kind: "integer", default: 10, min: 1, max: 1000 },
    clients: { description: "client pods", kind: "integer", default: 6, min: 1, max: 1000 },
    rate: { description: "requests per second, all clients together", kind: "number", default: 600, min: 0, exclusiveMin: true, max: 1e6 },
    duration_s: { description: "simulated seconds", kind: "integer", default: 90, min: 10, max: 36_000 },
  },
  quick: { duration_s: 45, rollout: "yes" },
  tiny: { duration_s: 15, rate: 200, dns_cache: ["none", "ttl"], service: "headless", rollout: "yes" },
  replications: { full: 5, quick: 3 },
  validate(config) {
    const c = String(config.dns_cache);
    if (c !== "none" && c !== "ttl" && !/^\d+(\.\d+)?(ms|s|m|h)$/.test(c)) {
      throw new InputError("bad client DNS cache", { fieldPath: "--set dns_cache", expected: "none, ttl or a duration like 30s", found: JSON.stringify(c) });
    }
  },
  charts: headlessDnsCharts,
  run,
  cost: (config) => Number(config.rate) * Number(config.duration_s),
};
