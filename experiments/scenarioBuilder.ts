/**
 * Studies build their scenarios as the YAML a user would write (so every study goes through the
 * same validation and defaults as `svcsim run`), from these small builders, and simulate them.
 */
import { dump } from "js-yaml";
import type { RandomStreams } from "../sim/random.js";
import { resolveCluster } from "../models/cluster/resolve.js";
import type { CostProfile } from "../models/proxy/cost.js";
import { loadCostProfile } from "../models/proxy/cost.js";
import { parseScenario } from "../models/scenario/load.js";
import { simulateScenario, type ScenarioRunOptions, type ScenarioRunResult } from "../models/workload/simulation.js";

type Obj = Record<string, unknown>;

/**
 * One YAML document of the stream. js-yaml writes it (the loader's fast path reads it back with
 * js-yaml too): three times faster than `yaml`'s stringify, which was a tenth of a study task.
 */
export function doc(object: Obj): string {
  return dump(object, { lineWidth: -1, noRefs: true });
}

export function clusterDoc(spec: Obj): string {
  return doc({ apiVersion: "svcsim.dev/v1", kind: "Cluster", spec });
}

export interface DeploymentOptions {
  name: string;
  replicas: number;
  /** svcsim.dev/service-time */
  serviceTime?: string;
  concurrency?: number;
  queueLimit?: number;
  labels?: Record<string, string>;
  nodeName?: string;
  preStopSleepSeconds?: number;
  terminationGracePeriodSeconds?: number;
  readinessProbe?: Obj;
  strategy?: Obj;
  namespace?: string;
  containerPort?: number;
}

export function deploymentDoc(o: DeploymentOptions): string {
  const labels = o.labels ?? { app: o.name };
  const annotations: Record<string, string> = {};
  if (o.serviceTime) annotations["svcsim.dev/service-time"] = o.serviceTime;
  if (o.concurrency !== undefined) annotations["svcsim.dev/concurrency"] = String(o.concurrency);
  if (o.queueLimit !== undefined) annotations["svcsim.dev/queue-limit"] = String(o.queueLimit);
  const container: Obj = { name: "app", image: `${o.name}:1`, ports: [{ containerPort: o.containerPort ?? 8080 }] };
  if (o.preStopSleepSeconds !== undefined && o.preStopSleepSeconds > 0) {
    container.lifecycle = { preStop: { sleep: { seconds: o.preStopSleepSeconds } } };
  }
  if (o.readinessProbe) container.readinessProbe = o.readinessProbe;
  const podSpec: Obj = { containers: [container] };
  if (o.nodeName) podSpec.nodeName = o.nodeName;
  if (o.terminationGracePeriodSeconds !== undefined) podSpec.terminationGracePeriodSeconds = o.terminationGracePeriodSeconds;
  const spec: Obj = {
    replicas: o.replicas,
    selector: { matchLabels: labels },
    template: { metadata: { labels, annotations }, spec: podSpec },
  };
  if (o.strategy) spec.strategy = o.strategy;
  return doc({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: o.name, namespace: o.namespace ?? "default" }, spec });
}

export function serviceDoc(name: string, spec: Obj, namespace = "default"): string {
  return doc({ apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec });
}

export function workloadDoc(clients: Obj[]): string {
  return doc({ apiVersion: "svcsim.dev/v1", kind: "Workload", spec: { clients } });
}

export function churnDoc(events: Obj[]): string {
  return doc({ apiVersion: "svcsim.dev/v1", kind: "Churn", spec: { events } });
}

export function runDoc(duration: string, warmup: string): string {
  return doc({ apiVersion: "svcsim.dev/v1", kind: "Run", spec: { duration, warmup } });
}

/** Joins documents into one YAML stream. */
export function stream(...docs: string[]): string {
  return docs.join("---\n");
}

const defaultProfile = loadCostProfile();

/** Validates, resolves and simulates a scenario stream for one replication. */
export function simulateYaml(
  name: string,
  yaml: string,
  streams: RandomStreams,
  options: ScenarioRunOptions = {},
  profile: CostProfile = defaultProfile,
): ScenarioRunResult {
  const scenario = parseScenario(yaml, `${name}.yaml`);
  return simulateScenario(scenario, resolveCluster(scenario), profile, streams, options);
}
