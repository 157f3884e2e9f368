/**
 * The whole model on scenarios with fixed seeds. Every asserted range follows from the model
 * (theory, or the structure of the scenario), not from a previous run's output.
 */
import { describe, expect, it } from "vitest";
import { RandomStreams } from "../../sim/random.js";
import { summarize } from "../../sim/summary.js";
import { mmcMeanSojourn } from "../../sim/queueing.js";
import { resolveCluster } from "../cluster/resolve.js";
import { loadCostProfile } from "../proxy/cost.js";
import type { CostProfile } from "../proxy/cost.js";
import { parseScenario } from "../scenario/load.js";
import { simulateScenario, type ScenarioRunResult } from "./simulation.js";

const defaultProfile = loadCostProfile();

/** The default profile with every first-packet and per-packet cost set to zero. */
function zeroCostProfile(): CostProfile {
  const p = structuredClone(defaultProfile);
  const zero = (o: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "number" && k !== "cacheBytes") o[k] = 0;
      else if (v && typeof v === "object" && k !== "about") zero(v as Record<string, unknown>);
    }
  };
  zero(p.firstPacket as unknown as Record<string, unknown>);
  return p;
}

function run(yaml: string, replication = 0, seed = 11, profile: CostProfile = defaultProfile): ScenarioRunResult {
  const scenario = parseScenario(yaml, "test.yaml");
  return simulateScenario(scenario, resolveCluster(scenario), profile, new RandomStreams(seed, replication));
}

function cluster(nodes: number, extra = ""): string {
  return `apiVersion: svcsim.dev/v1
kind: Cluster
spec:
  nodes: ${nodes}
  kubeProxy: {mode: iptables}
${extra}
`;
}

function deployment(name: string, replicas: number, opts: { serviceTime?: string; concurrency?: number; extraSpec?: string; extraContainer?: string; strategy?: string } = {}): string {
  return `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
${opts.strategy ?? ""}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {svcsim.dev/service-time: "${opts.serviceTime ?? "exp(2ms)"}", svcsim.dev/concurrency: "${opts.concurrency ?? 4}"}
    spec:
${opts.extraSpec ?? ""}
      containers:
      - name: app
        image: app:1
        ports: [{containerPort: 8080}]
${opts.extraContainer ?? ""}
`;
}

function service(name: string, extra = ""): string {
  return `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
${extra}
`;
}

function run_(duration: string, warmup: string): string {
  return `---
apiVersion: svcsim.dev/v1
kind: Run
spec: {duration: ${duration}, warmup: ${warmup}, seed: 1, replications: 1}
`;
}

function clients(list: string): string {
  return `---
apiVersion: svcsim.dev/v1
kind: Workload
spec:
  clients:
${list}
`;
}

describe("the whole model against queueing theory", () => {
  it("Poisson clients to one pod with c workers and exponential service give the M/M/c mean sojourn", () => {
    // Zero network, DNS and data-plane costs: what remains is an M/M/4 queue, λ = 300/s, μ = 100/s.
    const yaml =
      cluster(
        1,
        `  network: {sameNode: "const(0)", nodeToNode: "const(0)", zoneToZone: "const(0)"}
  dns: {queryLatency: "const(0)"}`,
      ) +
      deployment("web", 1, { serviceTime: "exp(10ms)", concurrency: 4 }) +
      service("web", "  clusterIP: 10.96.0.100") +
      clients(`  - {name: load, from: node-1, target: "10.96.0.100:80", arrival: "poisson(300/s)", connection: new, timeout: 1h}`) +
      run_("300s", "20s");
    const means = [0, 1, 2, 3, 4].map((r) => run(yaml, r, 5, zeroCostProfile()).summary.mean_latency_s);
    const s = summarize(means);
    const theory = mmcMeanSojourn(300, 100, 4);
    expect(theory).toBeCloseTo(0.0153, 3);
    expect(s.ci95Low).toBeLessThanOrEqual(theory);
    expect(s.ci95High).toBeGreaterThanOrEqual(theory);
  });
});

describe("load-balancing fairness by connection model", () => {
  const base = (connection: string, extraClient = "") =>
    cluster(2) +
    deployment("web", 10, { serviceTime: "exp(1ms)", concurrency: 8 }) +
    service("web") +
    clients(`  - {name: c, from: node-1, target: "web:80", arrival: "poisson(2000/s)", connection: ${connection}${extraClient}}`) +
    run_("12s", "2s");

  it("a new connection per request spreads evenly (Jain >= 0.97)", () => {
    const r = run(base("new"));
    expect(r.summary.requests).toBeGreaterThan(15_000);
    expect(r.summary.jain_index).toBeGreaterThanOrEqual(0.97);
    expect(r.summary.error_rate).toBe(0);
  });

  it("one HTTP/2 client puts the whole load on one pod (Jain = 1/10)", () => {
    const r = run(base("http2"));
    expect(r.summary.pods_served).toBe(1);
    expect(r.summary.jain_index).toBeCloseTo(0.1, 6);
  });

  it("a keep-alive pool lies in between: as many pods as connections at most", () => {
    const r = run(base("keepalive", ", keepalive: {maxConnections: 4, idleTimeout: 90s}"));
    expect(r.summary.pods_served).toBeLessThanOrEqual(4);
    expect(r.summary.jain_index).toBeGreaterThan(0.1);
    expect(r.summary.jain_index).toBeLessThanOrEqual(0.4 + 1e-9);
  });
});

describe("rolling updates", () => {
  const rollout = (preStop: string) =>
    cluster(3) +
    deployment("web", 6, {
      serviceTime: "exp(1ms)",
      concurrency: 8,
      extraSpec: "      terminationGracePeriodSeconds: 30",
      extraContainer: preStop,
      strategy: "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}",
    }) +
    service("web") +
    clients(`  - {name: c, from: node-1, target: "web:80", arrival: "poisson(1000/s)", connection: new, timeout: 2s}`) +
    `---
apiVersion: svcsim.dev/v1
kind: Churn
spec:
  events:
  - {at: 5s, rollout: web}
` +
    run_("40s", "2s");

  it("without a preStop hook, new connections are refused while endpoints propagate; a preStop sleep longer than propagation removes the errors", () => {
    const without = run(rollout(""));
    const withSleep = run(rollout("        lifecycle: {preStop: {sleep: {seconds: 5}}}"));
    // Every old pod stops accepting at once when deleted, while each node's rules still send
    // it connections for podToSlice + sliceToNode + the sync wait (hundreds of ms).
    expect(without.summary.errors_refused).toBeGreaterThan(0);
    expect(without.summary.error_rate).toBeGreaterThan(0);
    expect(withSleep.summary.errors).toBeLessThanOrEqual(without.summary.errors / 10);
    // The rollout replaced all six pods: twelve served in the window.
    expect(without.summary.pods_served).toBeGreaterThanOrEqual(10);
  });
});

describe("externalTrafficPolicy behind a load balancer", () => {
  // Two pods pinned to node-1, one to node-2; node-3 has none. The cloud LB spreads evenly over
  // the nodes that pass its health check.
  const lb = (policy: string) =>
    cluster(3) +
    deployment("web-a", 2, { serviceTime: "exp(1ms)", concurrency: 8, extraSpec: "      nodeName: node-1" }).replace(/app: web-a/g, "app: web") +
    deployment("web-b", 1, { serviceTime: "exp(1ms)", concurrency: 8, extraSpec: "      nodeName: node-2" }).replace(/app: web-b/g, "app: web") +
    `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  externalTrafficPolicy: ${policy}
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
` +
    clients(`  - {name: users, from: external, target: "loadbalancer/web:80", arrival: "poisson(1500/s)", connection: new}`) +
    run_("12s", "2s");

  function shares(r: ScenarioRunResult): number[] {
    const served = r.pods.filter((p) => p.group.startsWith("default/web"));
    const total = served.reduce((a, p) => a + p.metrics.requests, 0);
    return served.map((p) => p.metrics.requests / total).sort((a, b) => a - b);
  }

  it("Local: only nodes with a local endpoint get traffic, each splits it locally: 25/25/50, no SNAT", () => {
    const r = run(lb("Local"));
    const [a, b, c] = shares(r);
    for (const s of [a, b]) expect(s).toBeGreaterThan(0.22), expect(s).toBeLessThan(0.28);
    expect(c).toBeGreaterThan(0.45);
    expect(c).toBeLessThan(0.55);
    expect(r.summary.snat_fraction).toBe(0);
  });

  it("Cluster: every node takes traffic and spreads it over all pods: about 1/3 each, with SNAT", () => {
    const r = run(lb("Cluster"));
    for (const s of shares(r)) expect(s).toBeGreaterThan(0.3), expect(s).toBeLessThan(0.367);
    expect(r.summary.snat_fraction).toBe(1);
    // The extra hop: more network time than under Local.
    expect(r.summary.mean_network_s).toBeGreaterThan(run(lb("Local")).summary.mean_network_s);
  });
});

describe("sessionAffinity: ClientIP", () => {
  it("pins a client to one pod while new connections keep coming", () => {
    const yaml =
      cluster(2) +
      deployment("web", 5, { serviceTime: "exp(1ms)", concurrency: 8 }) +
      service("web", "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}") +
      clients(`  - {name: c, from: node-1, target: "web:80", arrival: "poisson(500/s)", connection: new}`) +
      run_("10s", "1s");
    const r = run(yaml);
    expect(r.summary.requests).toBeGreaterThan(3000);
    expect(r.summary.pods_served).toBe(1);
  });
});

describe("long-lived connections after a scale-up", () => {
  // 10 pods, then 20 at t = 10 s of 30 s. kube-proxy balances connections: clients that keep
  // theirs never reach the new pods; clients that open one per request spread over all 20.
  const scaleUp = (connection: string) =>
    cluster(2) +
    deployment("web", 10, { serviceTime: "exp(1ms)", concurrency: 8 }) +
    service("web") +
    clients(
      [0, 1, 2, 3]
        .map((i) => `  - {name: c${i}, from: node-${(i % 2) + 1}, target: "web:80", arrival: "poisson(200/s)", connection: ${connection}, keepalive: {maxConnections: 2, idleTimeout: 90s}}`)
        .join("\n"),
    ) +
    `---
apiVersion: svcsim.dev/v1
kind: Churn
spec:
  events:
  - {at: 10s, scale: web, replicas: 20}
` +
    run_("30s", "1s");

  function newPodsShare(r: ScenarioRunResult): number {
    const web = r.pods.filter((p) => p.group === "default/web");
    expect(web).toHaveLength(20);
    const total = web.reduce((a, p) => a + p.metrics.requests, 0);
    // Pods are listed in creation order: the last ten came with the scale-up.
    return web.slice(10).reduce((a, p) => a + p.metrics.requests, 0) / total;
  }

  it("new connections give the new pods their share (half of the last two thirds of the run)", () => {
    const share = newPodsShare(run(scaleUp("new")));
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.4);
  });

  it("keep-alive pools leave the new pods idle until connections recycle", () => {
    expect(newPodsShare(run(scaleUp("keepalive")))).toBeLessThan(0.05);
    expect(newPodsShare(run(scaleUp("http2")))).toBeLessThan(0.05);
  });
});

describe("crash-looping pods and retries", () => {
  const crashy = (retries: string) =>
    cluster(2) +
    deployment("web", 4, { serviceTime: "exp(1ms)", concurrency: 8 }) +
    service("web") +
    clients(`  - {name: c, from: node-1, target: "web:80", arrival: "poisson(400/s)", connection: new, timeout: 1s${retries}}`) +
    `---
apiVersion: svcsim.dev/v1
kind: Churn
spec:
  events:
  - {at: 5s, crashLoop: web, count: 1, runFor: 5s}
` +
    run_("60s", "1s");

  it("a pod in CrashLoopBackOff costs errors at each crash while its endpoint propagates, then serves between crashes", () => {
    const r = run(crashy(""));
    // Crashes at 5 s, then 10 s back-off + start-up + 5 s running, then 20 s back-off...: at
    // least two crashes in the minute, each refusing connections until every node's rules drop
    // the pod.
    expect(r.summary.errors_refused + r.summary.errors_reset).toBeGreaterThan(0);
    expect(r.summary.error_rate).toBeLessThan(0.05);
    const web = r.pods.filter((p) => p.group === "default/web");
    expect(web).toHaveLength(4);
    // The crashing pod served less than the steady ones.
    const loads = web.map((p) => p.metrics.requests).sort((a, b) => a - b);
    expect(loads[0]).toBeLessThan(0.8 * loads[1]);
  });

  it("retries hide most of those errors, within the retry budget", () => {
    const without = run(crashy(""));
    const withRetries = run(crashy(", retries: 2, retryBudget: 0.2"));
    expect(withRetries.summary.retries).toBeGreaterThan(0);
    expect(withRetries.summary.errors).toBeLessThan(without.summary.errors / 4);
  });
});
