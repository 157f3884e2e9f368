/**
 * service-types: what each Service type, and each way of discovering it, adds on the way from
 * a client to a pod — broken down into DNS, connection set-up (the data plane's first-packet
 * work and the handshake), network hops, queueing and service.
 *
 * Three web pods, one per node (nodes in three zones by default), behind Services of each kind;
 * clients open a new connection per request. The paths:
 *   clusterip-dns   pod on node-1 → DNS `web` → ClusterIP → DNAT on node-1 → pod (any node)
 *   clusterip-env   the same without DNS: the address from WEB_SERVICE_HOST (10.96.0.100:80)
 *   nodeport        external client → node-1:30080 → DNAT (+SNAT) on node-1 → pod (2 in 3 on another node)
 *   loadbalancer    external client → cloud LB → any node → DNAT (+SNAT) → pod
 *   headless        pod on node-1 → DNS `web-headless` returns the pod IPs → the client picks
 *                   one and connects straight to it: no DNAT
 *   externalname    pod on node-1 → DNS `db` → CNAME db.example.com → a host outside the
 *                   cluster: no kube-proxy on the path at all
 */
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { serviceTypesCharts } from "./studyCharts.js";

const PATHS = ["clusterip-dns", "clusterip-env", "nodeport", "loadbalancer", "headless", "externalname"] as const;
type Path = (typeof PATHS)[number];

const CLUSTER_IP = "10.96.0.100";
const NODE_PORT = 30080;
const CONTAINER_PORT = 8080;

/** The client: where it runs and what it asks for. */
function client(path: Path): { from: string; target: string } {
  switch (path) {
    case "clusterip-dns":
      return { from: "node-1", target: "web:80" };
    case "clusterip-env":
      return { from: "node-1", target: `${CLUSTER_IP}:80` };
    case "nodeport":
      return { from: "external", target: `node-1:${NODE_PORT}` };
    case "loadbalancer":
      return { from: "external", target: "loadbalancer/web-lb:80" };
    case "headless":
      // A headless name resolves to the pods themselves: the client uses the container port.
      return { from: "node-1", target: `web-headless:${CONTAINER_PORT}` };
    case "externalname":
      return { from: "node-1", target: "db:5432" };
  }
}

function scenarioYaml(config: Config): string {
  const zones = Number(config.zones);
  const nodes = Array.from({ length: 3 }, (_, i) => ({ name: `node-${i + 1}`, zone: `zone-${String.fromCharCode(97 + (i % zones))}` }));
  const selector = { app: "web" };
  const ports = [{ port: 80, targetPort: CONTAINER_PORT }];
  const c = client(config.path as Path);
  return stream(
    clusterDoc({ nodes, kubeProxy: { mode: config.mode } }),
    ...[1, 2, 3].map((i) =>
      deploymentDoc({
        name: `web-node-${i}`,
        replicas: 1,
        labels: { app: "web", placement: `node-${i}` },
        nodeName: `node-${i}`,
        serviceTime: `exp(${config.service_time_ms}ms)`,
        concurrency: 8,
        containerPort: CONTAINER_PORT,
      }),
    ),
    serviceDoc("web", { selector, clusterIP: CLUSTER_IP, ports }),
    serviceDoc("web-nodeport", { type: "NodePort", selector, ports: [{ ...ports[0], nodePort: NODE_PORT }] }),
    serviceDoc("web-lb", { type: "LoadBalancer", selector, ports }),
    serviceDoc("web-headless", { clusterIP: "None", selector, ports }),
    serviceDoc("db", { type: "ExternalName", externalName: "db.example.com" }),
    workloadDoc([{ name: "client", ...c, arrival: `poisson(${config.rate}/s)`, connection: config.connection }]),
    runDoc(`${config.duration_s}s`, `${config.warmup_s}s`),
  );
}

/** A part that the path does not have costs nothing (rather than being undefined). */
const orZero = (x: number): number => (Number.isFinite(x) ? x : 0);

function run(config: Config, ctx: RunContext): Metrics {
  const s = simulateYaml("service-types", scenarioYaml(config), ctx.streams).summary;
  return {
    requests: s.requests,
    mean_latency_s: s.mean_latency_s,
    p50_latency_s: s.p50_latency_s,
    p99_latency_s: s.p99_latency_s,
    mean_dns_s: s.mean_dns_s,
    mean_connect_s: s.mean_connect_s,
    mean_network_s: s.mean_network_s,
    mean_queue_s: s.mean_queue_s,
    mean_service_s: s.mean_service_s,
    // No data plane on the path (ExternalName): zero work.
    first_packet_p50_s: orZero(s.first_packet_p50_s),
    first_packet_p99_s: orZero(s.first_packet_p99_s),
    // No lookup on the path (an address, a node, the LB): zero queries.
    dns_queries_per_lookup: orZero(s.dns_queries_per_lookup),
    snat_fraction: s.snat_fraction,
    error_rate: s.error_rate,
  };
}

export const serviceTypes: ExperimentDefinition = {
  name: "service-types",
  question: "What does each Service type (ClusterIP, NodePort, LoadBalancer, headless, ExternalName) and discovery method add to a request's latency?",
  params: {
    path: {
      description:
        "clusterip-dns (pod → DNS web → ClusterIP), clusterip-env (pod → ClusterIP from the env var), nodeport (external → node-1:30080), loadbalancer (external → LB → node), headless (pod → DNS → pod IP), externalname (pod → DNS CNAME → external host)",
      kind: "string",
      default: [...PATHS],
      choices: PATHS,
    },
    connection: { description: "client connection model (new: every request pays DNS and the connection set-up)", kind: "string", default: "new", choices: ["new", "keepalive"] },
    rate: { description: "requests per second", kind: "number", default: 300, min: 0, exclusiveMin: true, max: 1e6 },
    service_time_ms: { description: "mean (exponential) service time of a web pod (ms); 8 workers per pod", kind: "number", default: 1, min: 0, exclusiveMin: true, max: 60_000 },
    zones: { description: "zones the three nodes are spread over (1: every hop is in-zone)", kind: "integer", default: 3, min: 1, max: 3 },
    mode: { description: "kube-proxy mode", kind: "string", default: "iptables", choices: ["iptables", "ipvs", "nftables"] },
    duration_s: { description: "simulated seconds per replication", kind: "number", default: 30, min: 1, max: 86_400 },
    warmup_s: { description: "seconds left out of the measurements", kind: "number", default: 2, min: 0, max: 86_400 },
  },
  quick: { duration_s: 20 },
  tiny: { duration_s: 3, warmup_s: 1, rate: 100 },
  replications: { full: 5, quick: 3 },
  charts: serviceTypesCharts,
  run,
  cost: (config) => Number(config.rate) * Number(config.duration_s),
};
