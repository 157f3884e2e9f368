/**
 * dns-ndots: what a name lookup costs a pod, by how the name is written and the resolver's
 * `ndots` option.
 *
 * A pod's resolv.conf (dnsPolicy ClusterFirst) has `search default.svc.cluster.local
 * svc.cluster.local cluster.local` and `options ndots:5`. A name with fewer than ndots dots is
 * tried with each search domain first and as-is last; a name with at least ndots dots as-is
 * first; a name with a trailing dot only as-is. Every candidate that comes back NXDOMAIN is one
 * more round trip to CoreDNS (through the node's data plane to the kube-dns Service), so under
 * ndots:5 an external name such as db.example.com costs four queries, and even
 * web.default.svc.cluster.local without its trailing dot costs four.
 *
 * One client pod on node-1 opens a new connection per request and resolves the name every
 * time (no client-side cache, as glibc). The names:
 *   short         web                               a ClusterIP Service in the pod's namespace
 *   namespaced    web.default
 *   svc           web.default.svc
 *   fqdn-no-dot   web.default.svc.cluster.local
 *   fqdn          web.default.svc.cluster.local.    absolute: one query whatever ndots says
 *   external      db.example.com                    a host outside the cluster
 *   externalname  db                                an ExternalName Service: a CNAME to db.example.com
 */
import { ClusterDnsZone } from "../models/discovery/dns.js";
import { resolveCluster } from "../models/cluster/resolve.js";
import { parseScenario } from "../models/scenario/load.js";
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { dnsNdotsCharts } from "./studyCharts.js";

const NAMES = {
  short: { host: "web", port: 80 },
  namespaced: { host: "web.default", port: 80 },
  svc: { host: "web.default.svc", port: 80 },
  "fqdn-no-dot": { host: "web.default.svc.cluster.local", port: 80 },
  fqdn: { host: "web.default.svc.cluster.local.", port: 80 },
  external: { host: "db.example.com", port: 5432 },
  externalname: { host: "db", port: 5432 },
} as const;
type NameKind = keyof typeof NAMES;
const NAME_KINDS = Object.keys(NAMES) as NameKind[];
const NAMESPACE = "default";

/** Everything but the Workload and Run: the same cluster for every config (and for the reference). */
function clusterYaml(config: Config): string {
  return stream(
    clusterDoc({ nodes: 3, kubeProxy: { mode: config.mode }, dns: { queryLatency: `lognormal(mean=${config.query_latency_us}us,cv=1)` } }),
    deploymentDoc({ name: "web", replicas: 3, serviceTime: "exp(1ms)", concurrency: 8 }),
    serviceDoc("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] }),
    serviceDoc("db", { type: "ExternalName", externalName: "db.example.com" }),
  );
}

function scenarioYaml(config: Config): string {
  const name = NAMES[config.target_name as NameKind];
  return stream(
    clusterYaml(config),
    workloadDoc([
      {
        name: "client",
        from: "node-1",
        namespace: NAMESPACE,
        target: `${name.host}:${name.port}`,
        arrival: `poisson(${config.rate}/s)`,
        connection: "new",
        ndots: Number(config.ndots),
        dnsCache: "none",
      },
    ]),
    runDoc(`${config.duration_s}s`, `${config.warmup_s}s`),
  );
}

function run(config: Config, ctx: RunContext): Metrics {
  const r = simulateYaml("dns-ndots", scenarioYaml(config), ctx.streams);
  const s = r.summary;
  const measuredS = Number(config.duration_s) - Number(config.warmup_s);
  const succeeded = s.requests * (1 - s.error_rate);
  const servedByPods = r.pods.filter((p) => p.group === "default/web").reduce((a, p) => a + p.metrics.requests, 0);
  return {
    requests: s.requests,
    dns_queries_per_lookup: s.dns_queries_per_lookup,
    nxdomain_queries_per_lookup: s.dns_queries_per_lookup - 1,
    coredns_queries_per_s: (s.requests * s.dns_queries_per_lookup) / measuredS,
    mean_dns_s: s.mean_dns_s,
    mean_dns_per_query_s: s.mean_dns_s / s.dns_queries_per_lookup,
    dns_share_of_latency: s.mean_dns_s / s.mean_latency_s,
    mean_latency_s: s.mean_latency_s,
    p50_latency_s: s.p50_latency_s,
    p99_latency_s: s.p99_latency_s,
    // Where the name led: the web pods (1) or a host outside the cluster (0).
    // (capped at 1: pods count requests by when their service began, the summary by when they were sent)
    in_cluster_fraction: succeeded > 0 ? Math.min(1, servedByPods / succeeded) : 0,
    error_rate: s.error_rate,
    errors_nxdomain: s.errors_nxdomain,
  };
}

/** The zone of the study's cluster (the same for every config): built once. */
let zone: ClusterDnsZone | undefined;
function studyZone(config: Config): ClusterDnsZone {
  if (!zone) {
    const scenario = parseScenario(clusterYaml(config), "dns-ndots.yaml");
    zone = new ClusterDnsZone(resolveCluster(scenario).state, { clusterDomain: "cluster.local" });
  }
  return zone;
}

/** The resolver's rules run against the zone: candidates asked until the first answer. */
function expected(config: Config): Metrics {
  const { queries } = studyZone(config).resolve(NAMES[config.target_name as NameKind].host, NAMESPACE, Number(config.ndots));
  return { expected_queries_per_lookup: queries };
}

export const dnsNdots: ExperimentDefinition = {
  name: "dns-ndots",
  question: "How many DNS queries and how much latency does a lookup cost for short, namespaced, FQDN and external names under ndots 5 vs 1?",
  params: {
    target_name: {
      description:
        "how the client writes the name: short=web, namespaced=web.default, svc=web.default.svc, fqdn-no-dot=web.default.svc.cluster.local, fqdn=web.default.svc.cluster.local. (trailing dot), external=db.example.com, externalname=db (ExternalName Service → db.example.com)",
      kind: "string",
      default: [...NAME_KINDS],
      choices: NAME_KINDS,
    },
    ndots: { description: "the pod resolver's ndots option (dnsConfig.options)", kind: "integer", default: [5, 1], min: 0, max: 15 },
    rate: { description: "lookups (= requests, one new connection each) per second", kind: "number", default: 200, min: 0, exclusiveMin: true, max: 1e6 },
    query_latency_us: { description: "CoreDNS' own mean time to answer one query (µs, lognormal cv 1)", kind: "number", default: 150, min: 0, exclusiveMin: true, max: 1e7 },
    mode: { description: "kube-proxy mode", kind: "string", default: "iptables", choices: ["iptables", "ipvs", "nftables"] },
    duration_s: { description: "simulated seconds per replication", kind: "number", default: 20, min: 1, max: 86_400 },
    warmup_s: { description: "seconds left out of the measurements", kind: "number", default: 2, min: 0, max: 86_400 },
  },
  quick: { duration_s: 15 },
  tiny: { target_name: ["short", "namespaced", "fqdn", "external", "externalname"], duration_s: 3, warmup_s: 1, rate: 100 },
  replications: { full: 5, quick: 3 },
  charts: dnsNdotsCharts,
  run,
  cost: (config) => Number(config.rate) * Number(config.duration_s),
  reference: expected,
};
