/**
 * keepalive-fairness: how evenly requests spread over a Service's pods when clients open a
 * connection per request, keep a pool of keep-alive connections, or multiplex everything on
 * one HTTP/2 connection — and what a rollout or a scale-up does to the split. kube-proxy
 * balances connections, not requests: a long-lived connection stays on the pod it was DNATed
 * to, so new pods get little until connections recycle.
 */
import { NS_PER_S } from "../sim/time.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { churnDoc, clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { meanOfFinite, summaryValue } from "./rows.js";
import { keepaliveFairnessCharts } from "./studyCharts.js";

function run(config: Config, ctx: RunContext): Metrics {
  const pods = Number(config.pods);
  const duration = Number(config.duration_s);
  const eventAt = Math.round(duration / 3);
  const warmup = 2;
  const clients = Number(config.clients);
  const rate = Number(config.rate);
  const event = String(config.event);
  const yaml = stream(
    clusterDoc({ nodes: 3, kubeProxy: { mode: "iptables" } }),
    deploymentDoc({
      name: "web",
      replicas: pods,
      serviceTime: "exp(2ms)",
      concurrency: 16,
      preStopSleepSeconds: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    }),
    serviceDoc("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] }),
    workloadDoc(
      Array.from({ length: clients }, (_, i) => ({
        name: `client-${i}`,
        from: `node-${(i % 3) + 1}`,
        target: "web:80",
        arrival: `poisson(${rate / clients}/s)`,
        connection: config.connection,
        keepalive: { maxConnections: Number(config.pool), idleTimeout: "90s" },
      })),
    ),
    churnDoc(
      event === "none"
        ? []
        : [event === "rollout" ? { at: `${eventAt}s`, rollout: "web" } : { at: `${eventAt}s`, scale: "web", replicas: pods * 2 }],
    ),
    runDoc(`${duration}s`, `${warmup}s`),
  );
  const r = simulateYaml("keepalive-fairness", yaml, ctx.streams, { fairnessWindow: NS_PER_S });
  const windows = r.jainOverTime;
  // Windows are 1 s wide from the end of warm-up: split them around the event, leaving the
  // event's own window out.
  const eventWindow = eventAt - warmup;
  const before = windows.slice(0, eventWindow);
  const after = windows.slice(eventWindow + 10);
  const out: Metrics = {
    jain_index: r.summary.jain_index,
    jain_before_event: meanOfFinite(before),
    jain_after_event: meanOfFinite(after),
    jain_min_after_event: after.length > 0 ? Math.min(...after.filter((x) => Number.isFinite(x))) : Number.NaN,
    max_over_mean_load: r.summary.max_over_mean_load,
    pods_served: r.summary.pods_served,
    connections: r.summary.connections,
    p99_latency_s: r.summary.p99_latency_s,
    error_rate: r.summary.error_rate,
  };
  windows.forEach((j, k) => {
    out[`jain_window_${String(k).padStart(3, "0")}`] = j;
  });
  return out;
}

export const keepaliveFairness: ExperimentDefinition = {
  name: "keepalive-fairness",
  question: "How evenly do new, keep-alive and HTTP/2 clients spread over pods, before and after a rollout?",
  params: {
    connection: { description: "client connection model", kind: "string", default: ["new", "keepalive", "http2"], choices: ["new", "keepalive", "http2"] },
    event: { description: "what happens a third of the way in", kind: "string", default: ["rollout", "scale-up"], choices: ["rollout", "scale-up", "none"] },
    pods: { description: "pods of the Deployment", kind: "integer", default: 10, min: 1, max: 1000 },
    clients: { description: "client pods (spread over the nodes)", kind: "integer", default: 8, min: 1, max: 1000 },
    pool: { description: "keep-alive connections per client", kind: "integer", default: 2, min: 1, max: 1000 },
    rate: { description: "requests per second, all clients together", kind: "number", default: 2000, min: 0, exclusiveMin: true, max: 1e6 },
    duration_s: { description: "simulated seconds", kind: "integer", default: 90, min: 20, max: 36_000 },
  },
  quick: { duration_s: 45, rate: 1000 },
  tiny: { duration_s: 24, rate: 300, connection: ["new", "http2"], event: "rollout" },
  replications: { full: 5, quick: 3 },
  headlines(rows) {
    const event = rows.find((r) => r.replication === "all")?.event ?? "rollout";
    return ["new", "keepalive", "http2"]
      .map((connection) => {
        const before = summaryValue(rows, { connection, event }, "jain_before_event_mean");
        const after = summaryValue(rows, { connection, event }, "jain_after_event_mean");
        return Number.isFinite(before) ? `${connection}: Jain's index ${before.toFixed(2)} before the ${event}, ${after.toFixed(2)} after` : "";
      })
      .filter((s) => s !== "");
  },
  charts: keepaliveFairnessCharts,
  run,
  // Requests simulated; a new connection per request costs about twice a reused one.
  cost: (config) => Number(config.rate) * Number(config.duration_s) * (config.connection === "new" ? 2 : 1),
};
