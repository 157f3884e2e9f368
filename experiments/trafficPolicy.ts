/**
 * traffic-policy: what `externalTrafficPolicy` and `internalTrafficPolicy` do to where requests
 * land, how many hops they take and whether the pod sees the client's address.
 *
 * One Service `web` (type LoadBalancer, so it also has a NodePort and a ClusterIP) in front of
 * three pods placed unevenly: two on node-1, one on node-2, none on node-3. Three ways in:
 * - `loadbalancer`: an external client through the cloud LB, which spreads connections evenly
 *   over the nodes that pass its health check (all nodes under Cluster; under Local only the
 *   nodes with a ready local endpoint). Governed by externalTrafficPolicy.
 * - `nodeport`: external clients straight to node-N:30080, one client per node at equal rates
 *   (as a DNS round-robin over node addresses would do). Governed by externalTrafficPolicy;
 *   under Local, node-3 has no endpoint and kube-proxy drops what arrives there.
 * - `internal`: client pods on every node to the ClusterIP, at equal rates. Governed by
 *   internalTrafficPolicy; under Local, node-3's client has no local endpoint and kube-proxy
 *   drops its traffic ("has no local endpoints"), which the client sees as a timeout.
 *
 * Cluster spreads over all pods (1/3 each) at the cost of a possible extra node hop and SNAT
 * for external traffic; Local keeps the hop local and the source address, at the cost of an
 * uneven split (node shares, not pod shares, are even) or errors where no endpoint is local.
 */
import { InputError } from "../sim/errors.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { trafficPolicyCharts } from "./studyCharts.js";

const PATHS = ["loadbalancer", "nodeport", "internal"] as const;
type Path = (typeof PATHS)[number];
const POLICIES = ["Cluster", "Local"] as const;
type Policy = (typeof POLICIES)[number];

const NODES = 3;
const CLUSTER_IP = "10.96.0.100";
const NODE_PORT = 30080;
/** Pods per node: the uneven placement the study is about. */
const PLACEMENT: readonly number[] = [2, 1, 0];

function scenarioYaml(config: Config): string {
  const path = config.path as Path;
  const policy = config.policy as Policy;
  const rate = Number(config.rate);
  const zones = Number(config.zones);
  const nodes = Array.from({ length: NODES }, (_, i) => ({ name: `node-${i + 1}`, zone: `zone-${String.fromCharCode(97 + (i % zones))}` }));
  const deployments = PLACEMENT.flatMap((replicas, i) =>
    replicas === 0
      ? []
      : [
          deploymentDoc({
            name: `web-node-${i + 1}`,
            replicas,
            labels: { app: "web", placement: `node-${i + 1}` },
            nodeName: `node-${i + 1}`,
            serviceTime: `exp(${config.service_time_ms}ms)`,
            concurrency: 8,
          }),
        ],
  );
  const spec: Record<string, unknown> = {
    type: "LoadBalancer",
    clusterIP: CLUSTER_IP,
    selector: { app: "web" },
    ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }],
  };
  if (path === "internal") spec.internalTrafficPolicy = policy;
  else spec.externalTrafficPolicy = policy;

  const common = { connection: "new", timeout: `${config.timeout_s}s` };
  const perNode = `poisson(${rate / NODES}/s)`;
  const clients =
    path === "loadbalancer"
      ? [{ name: "users", from: "external", target: "loadbalancer/web:80", arrival: `poisson(${rate}/s)`, ...common }]
      : nodes.map((n) => ({
          name: `client-${n.name}`,
          from: path === "nodeport" ? "external" : n.name,
          target: path === "nodeport" ? `${n.name}:${NODE_PORT}` : `${CLUSTER_IP}:80`,
          arrival: perNode,
          ...common,
        }));
  return stream(
    clusterDoc({ nodes, kubeProxy: { mode: config.mode } }),
    ...deployments,
    serviceDoc("web", spec),
    workloadDoc(clients),
    runDoc(`${config.duration_s}s`, `${config.warmup_s}s`),
  );
}

function run(config: Config, ctx: RunContext): Metrics {
  const r = simulateYaml("traffic-policy", scenarioYaml(config), ctx.streams);
  const s = r.summary;
  const web = r.pods.filter((p) => p.group.startsWith("default/web"));
  const total = web.reduce((a, p) => a + p.metrics.requests, 0);
  const shares = web.map((p) => (total > 0 ? p.metrics.requests / total : 0));
  const nodeShare = (node: string): number =>
    total > 0 ? web.filter((p) => p.node === node).reduce((a, p) => a + p.metrics.requests, 0) / total : 0;
  return {
    requests: s.requests,
    error_rate: s.error_rate,
    errors_timeout: s.errors_timeout,
    errors_no_endpoints: s.errors_no_endpoints,
    errors_unreachable: s.errors_unreachable,
    share_busiest_pod: Math.max(...shares),
    share_least_busy_pod: Math.min(...shares),
    share_node_1_pods: nodeShare("node-1"),
    share_node_2_pods: nodeShare("node-2"),
    jain_index: s.jain_index,
    max_over_mean_load: s.max_over_mean_load,
    snat_fraction: s.snat_fraction,
    mean_network_s: s.mean_network_s,
    mean_connect_s: s.mean_connect_s,
    mean_latency_s: s.mean_latency_s,
    p50_latency_s: s.p50_latency_s,
    p99_latency_s: s.p99_latency_s,
  };
}

/**
 * What the policies imply, from the placement alone: per-pod shares of the served requests,
 * the fraction of requests lost, and whether the pod sees the node's address (SNAT).
 */
function expected(config: Config): Metrics {
  const path = config.path as Path;
  const policy = config.policy as Policy;
  const pods = PLACEMENT.reduce((a, b) => a + b, 0);
  if (policy === "Cluster") {
    // Every node (or the LB, over every node) spreads over every pod; external traffic is
    // masqueraded so that replies come back through the node that DNATed it.
    return {
      expected_share_busiest_pod: 1 / pods,
      expected_share_least_busy_pod: 1 / pods,
      expected_error_rate: 0,
      expected_snat_fraction: path === "internal" ? 0 : 1,
    };
  }
  // Local: each node's traffic stays on that node's pods. The LB sends only to nodes with a
  // local endpoint; NodePort and in-cluster clients send to every node equally, and the share
  // of a node without one is dropped.
  const withPods = PLACEMENT.filter((n) => n > 0);
  const nodeShare = 1 / withPods.length;
  const podShares = withPods.map((n) => nodeShare / n);
  const lost = path === "loadbalancer" ? 0 : (PLACEMENT.length - withPods.length) / PLACEMENT.length;
  return {
    expected_share_busiest_pod: Math.max(...podShares),
    expected_share_least_busy_pod: Math.min(...podShares),
    expected_error_rate: lost,
    expected_snat_fraction: 0,
  };
}

export const trafficPolicy: ExperimentDefinition = {
  name: "traffic-policy",
  question: "How do externalTrafficPolicy and internalTrafficPolicy Cluster vs Local change pod shares, hops, SNAT and errors?",
  params: {
    path: {
      description: "way in: loadbalancer (external client via the cloud LB), nodeport (external clients to each node's NodePort), internal (client pods on every node to the ClusterIP)",
      kind: "string",
      default: [...PATHS],
      choices: PATHS,
    },
    policy: {
      description: "the traffic policy on that path: externalTrafficPolicy for loadbalancer/nodeport, internalTrafficPolicy for internal",
      kind: "string",
      default: [...POLICIES],
      choices: POLICIES,
    },
    rate: { description: "new connections (= requests) per second, all clients together", kind: "number", default: 1500, min: 0, exclusiveMin: true, max: 1e6 },
    service_time_ms: { description: "mean (exponential) service time of a web pod (ms); 8 workers per pod", kind: "number", default: 1, min: 0, exclusiveMin: true, max: 10_000 },
    timeout_s: { description: "client timeout (s): how long a dropped connection takes to fail", kind: "number", default: 1, min: 0, exclusiveMin: true, max: 3600 },
    zones: { description: "zones the three nodes are spread over (1: every hop is in-zone)", kind: "integer", default: 3, min: 1, max: 3 },
    mode: { description: "kube-proxy mode", kind: "string", default: "iptables", choices: ["iptables", "ipvs", "nftables"] },
    duration_s: { description: "simulated seconds per replication", kind: "number", default: 30, min: 1, max: 86_400 },
    warmup_s: { description: "seconds left out of the measurements", kind: "number", default: 2, min: 0, max: 86_400 },
  },
  quick: { duration_s: 20 },
  tiny: { duration_s: 4, warmup_s: 1, rate: 600 },
  replications: { full: 5, quick: 3 },
  validate(config) {
    if (Number(config.warmup_s) >= Number(config.duration_s)) {
      throw new InputError("traffic-policy: the warm-up must be shorter than the run", {
        fieldPath: "--set warmup_s",
        expected: `less than duration_s (${config.duration_s})`,
        found: String(config.warmup_s),
      });
    }
  },
  charts: trafficPolicyCharts,
  run,
  cost: (config) => Number(config.rate) * Number(config.duration_s),
  reference: expected,
};
