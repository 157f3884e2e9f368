/**
 * What a scenario run measures, in streaming form: latency histograms and component means,
 * errors by cause, data-plane costs. Memory is bounded by the model (histogram buckets, pods,
 * windows), never by the number of requests.
 */
import { LogHistogram } from "../../sim/histogram.js";
import { Welford } from "../../sim/stats.js";
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";

export const ERROR_CAUSES = [
  /** The pod's app refused the connection (RST): it stopped accepting after SIGTERM. */
  "refused",
  /** The Service had no endpoint on the path: kube-proxy's REJECT. */
  "no_endpoints",
  /** No answer within the client's timeout (an endpoint that is gone, a drop, a slow pod). */
  "timeout",
  /** The pod's queue was full: 503. */
  "overload",
  /** In flight when the pod was killed at the end of its grace period (connection reset). */
  "reset",
  /** The name did not resolve. */
  "nxdomain",
  /** The node's conntrack table was full: the new connection's first packet was dropped. */
  "conntrack_full",
  /** The destination is not a Service, pod or host svcsim knows (nothing answers). */
  "unreachable",
] as const;
export type ErrorCause = (typeof ERROR_CAUSES)[number];

export class WorkloadMetrics {
  /** Requests started after warm-up (each counted once, whatever its retries). */
  requests = 0;
  succeeded = 0;
  readonly errors: Record<ErrorCause, number>;
  retries = 0;
  /** End-to-end latency of successful requests, seconds. */
  // 0.1 % buckets: replications' percentiles differ by less than 1 %.
  readonly latency = new LogHistogram({ relativeError: 0.001 });
  readonly poolWait = new Welford();
  readonly dns = new Welford();
  readonly connect = new Welford();
  readonly network = new Welford();
  readonly queue = new Welford();
  readonly service = new Welford();
  /** The data plane's share of a new connection's first packet (rules, maps, conntrack), seconds. */
  readonly firstPacket = new LogHistogram({ relativeError: 0.001 });
  connections = 0;
  snatConnections = 0;
  dnsQueries = 0;
  dnsLookups = 0;

  constructor(readonly warmup: Nanos) {
    this.errors = Object.fromEntries(ERROR_CAUSES.map((c) => [c, 0])) as Record<ErrorCause, number>;
  }

  measured(startedAt: Nanos): boolean {
    return startedAt >= this.warmup;
  }

  recordSuccess(parts: { total: Nanos; poolWait: Nanos; dns: Nanos; connect: Nanos; network: Nanos; queue: Nanos; service: Nanos }): void {
    this.succeeded++;
    this.latency.record(parts.total / NS_PER_S);
    this.poolWait.add(parts.poolWait / NS_PER_S);
    this.dns.add(parts.dns / NS_PER_S);
    this.connect.add(parts.connect / NS_PER_S);
    this.network.add(parts.network / NS_PER_S);
    this.queue.add(parts.queue / NS_PER_S);
    this.service.add(parts.service / NS_PER_S);
  }

  recordError(cause: ErrorCause): void {
    this.errors[cause]++;
  }

  get failed(): number {
    let n = 0;
    for (const c of ERROR_CAUSES) n += this.errors[c];
    return n;
  }
}
