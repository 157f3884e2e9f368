/**
 * The shipped studies, in the order `svcsim list` shows them. Each is loaded when asked for:
 * a study pulls in the models it needs (scenario validation, the proxy modes...), and a
 * process that runs one study — or a worker thread — should not pay for the other nine.
 */
import type { ExperimentDefinition } from "./definition.js";

const loaders: Readonly<Record<string, () => Promise<ExperimentDefinition>>> = {
  "first-packet-latency": async () => (await import("./firstPacketLatency.js")).firstPacketLatency,
  "rule-sync": async () => (await import("./ruleSync.js")).ruleSync,
  "service-types": async () => (await import("./serviceTypes.js")).serviceTypes,
  "keepalive-fairness": async () => (await import("./keepaliveFairness.js")).keepaliveFairness,
  "rolling-update-errors": async () => (await import("./rollingUpdateErrors.js")).rollingUpdateErrors,
  "traffic-policy": async () => (await import("./trafficPolicy.js")).trafficPolicy,
  "headless-dns": async () => (await import("./headlessDns.js")).headlessDns,
  "dns-ndots": async () => (await import("./dnsNdots.js")).dnsNdots,
  "conntrack-limit": async () => (await import("./conntrackLimit.js")).conntrackLimit,
  mm1: async () => (await import("./mm1.js")).mm1,
};

export const experimentNames: readonly string[] = Object.keys(loaders);

export async function loadExperiment(name: string): Promise<ExperimentDefinition | undefined> {
  const load = Object.hasOwn(loaders, name) ? loaders[name] : undefined;
  return load ? load() : undefined;
}

export async function loadExperiments(): Promise<ExperimentDefinition[]> {
  return Promise.all(experimentNames.map((n) => loaders[n]()));
}
