/**
 * conntrack-limit: when does a node's connection-tracking table fill up, and what then?
 *
 * A client pod on node-1 opens a new TCP connection per request to a ClusterIP Service (by
 * address, so DNS's UDP flows stay out of the picture). Every connection's first packet creates
 * an entry in node-1's conntrack table; the entry lives while the connection is open (a few
 * milliseconds here) and then for the TIME_WAIT timeout after it closes. By Little's law the
 * table holds about rate × (TIME_WAIT + lifetime) entries; once that exceeds the table's
 * maximum (kube-proxy sets max(--conntrack-min, --conntrack-max-per-core × cores)), the kernel
 * has nothing it may evict (every entry is assured) and drops new connections' first packets:
 * "nf_conntrack: table full, dropping packet". The client sees a connect timeout.
 *
 * The table size is set as kube-proxy would on a one-core node: maxPerCore = conntrack_max,
 * min = 0. The warm-up is one TIME_WAIT timeout plus 5 s, so the table is in its steady state,
 * and the measurement window is a whole number of TIME_WAIT timeouts: a full table admits
 * connections in bursts, as the entries admitted one timeout earlier expire, so a window that
 * is not a multiple of the timeout would see a phase of that cycle rather than its average.
 */
import type { Config, ExperimentDefinition, Metrics, RunContext } from "./definition.js";
import { clusterDoc, deploymentDoc, runDoc, serviceDoc, simulateYaml, stream, workloadDoc } from "./scenarioBuilder.js";
import { conntrackLimitCharts } from "./studyCharts.js";

const CLUSTER_IP = "10.96.0.100";
/** Warm-up beyond one TIME_WAIT timeout (s). */
const SETTLE_S = 5;

function timing(config: Config): { warmupS: number; durationS: number; measuredS: number } {
  const tw = Number(config.time_wait_s);
  const warmupS = tw + SETTLE_S;
  const measuredS = Number(config.periods) * tw;
  return { warmupS, durationS: warmupS + measuredS, measuredS };
}

function scenarioYaml(config: Config): string {
  const { warmupS, durationS } = timing(config);
  return stream(
    clusterDoc({
      nodes: 3,
      kubeProxy: {
        mode: config.mode,
        conntrack: { maxPerCore: Number(config.conntrack_max), min: 0, coresPerNode: 1, tcpTimeWaitTimeout: `${config.time_wait_s}s` },
      },
    }),
    deploymentDoc({ name: "web", replicas: 3, serviceTime: `exp(${config.service_time_ms}ms)`, concurrency: 16 }),
    serviceDoc("web", { selector: { app: "web" }, clusterIP: CLUSTER_IP, ports: [{ port: 80, targetPort: 8080 }] }),
    workloadDoc([
      {
        name: "client",
        from: "node-1",
        target: `${CLUSTER_IP}:80`,
        arrival: `poisson(${config.rate}/s)`,
        connection: "new",
        timeout: `${config.timeout_s}s`,
      },
    ]),
    runDoc(`${durationS}s`, `${warmupS}s`),
  );
}

function run(config: Config, ctx: RunContext): Metrics {
  const s = simulateYaml("conntrack-limit", scenarioYaml(config), ctx.streams).summary;
  const max = Number(config.conntrack_max);
  const { measuredS } = timing(config);
  return {
    requests: s.requests,
    conntrack_peak_entries: s.conntrack_peak_entries,
    conntrack_peak_occupancy: s.conntrack_peak_entries / max,
    conntrack_drops: s.conntrack_drops,
    errors_conntrack_full: s.errors_conntrack_full,
    conntrack_drops_per_s: s.errors_conntrack_full / measuredS,
    error_rate: s.error_rate,
    throughput_rps: s.throughput_rps,
    p50_latency_s: s.p50_latency_s,
    p99_latency_s: s.p99_latency_s,
  };
}

/**
 * Little's law: entries = arrival rate × time in the table. An entry stays for the
 * connection's lifetime (here about the mean service time; the handshake and hops add well
 * under a millisecond, left out) plus the TIME_WAIT timeout. With the table full, it admits
 * only as many connections as expire: max / (TIME_WAIT + lifetime) per second.
 */
function analytic(config: Config): Metrics {
  const rate = Number(config.rate);
  const lifetimeS = Number(config.service_time_ms) / 1000;
  const entries = rate * (Number(config.time_wait_s) + lifetimeS);
  const max = Number(config.conntrack_max);
  return {
    analytic_conntrack_entries: entries,
    analytic_drop_fraction: entries > max ? 1 - max / entries : 0,
  };
}

export const conntrackLimit: ExperimentDefinition = {
  name: "conntrack-limit",
  question: "At what new-connection rate does the conntrack table fill (max vs TIME_WAIT timeout), and how many connections drop?",
  params: {
    rate: { description: "new connections (= requests) per second from one client pod on node-1", kind: "number", default: [100, 400, 1600], min: 0, exclusiveMin: true, max: 1e6 },
    conntrack_max: {
      description: "node conntrack table maximum (entries), set as kube-proxy --conntrack-max-per-core on a one-core node",
      kind: "integer",
      default: [4096, 16384, 65536],
      min: 1,
      max: 100_000_000,
    },
    time_wait_s: { description: "nf_conntrack_tcp_timeout_time_wait (s); the kernel's default is 120", kind: "number", default: [30, 60, 120], min: 0, exclusiveMin: true, max: 3600 },
    periods: { description: "measured window, in TIME_WAIT timeouts (after a warm-up of one timeout + 5 s)", kind: "integer", default: 1, min: 1, max: 100 },
    service_time_ms: { description: "mean (exponential) service time of a web pod (ms): the connection's lifetime", kind: "number", default: 1, min: 0, exclusiveMin: true, max: 60_000 },
    timeout_s: { description: "client timeout (s): a dropped SYN fails after it", kind: "number", default: 1, min: 0, exclusiveMin: true, max: 3600 },
    mode: { description: "kube-proxy mode", kind: "string", default: "iptables", choices: ["iptables", "ipvs", "nftables"] },
  },
  quick: { time_wait_s: [30, 60] },
  tiny: { rate: 200, conntrack_max: [512, 16384], time_wait_s: 10 },
  replications: { full: 5, quick: 3 },
  charts: conntrackLimitCharts,
  run,
  // Simulated connections: the rate over the whole simulated time.
  cost: (config) => Number(config.rate) * timing(config).durationS,
  reference: analytic,
};
