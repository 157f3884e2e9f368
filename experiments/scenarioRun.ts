/**
 * `svcsim run SCENARIO`: simulate a scenario file for its replications and write
 * `summary.csv` (the result CSV of DESIGN.md, experiment `run`, config = the scenario's name)
 * and `pods.csv` (the same leading columns plus `pod,node`).
 */
import { join } from "node:path";
import { RandomStreams } from "../sim/random.js";
import { resolveCluster } from "../models/cluster/resolve.js";
import { loadCostProfile } from "../models/proxy/cost.js";
import type { CostProfile } from "../models/proxy/cost.js";
import { getProxyMode } from "../models/proxy/modes.js";
import type { ProxyModeName } from "../models/proxy/types.js";
import { loadScenario } from "../models/scenario/load.js";
import type { Scenario } from "../models/scenario/types.js";
import { simulateScenario, type ScenarioRunResult } from "../models/workload/simulation.js";
import { formatDecimal, writeCsvAtomic, type CsvRow } from "./csv.js";
import { summarizeReplications } from "./runner.js";

export interface ScenarioRunOptions {
  seed?: number;
  replications?: number;
  out?: string;
  mode?: ProxyModeName;
  profile?: string;
}

export interface ScenarioRunOutput {
  summaryPath: string;
  podsPath: string;
  results: ScenarioRunResult[];
  summaryRows: CsvRow[];
}

/** Runs one replication: a fresh resolution (the simulation mutates pods and allocators). */
export function runScenarioReplication(scenario: Scenario, profile: CostProfile, seed: number, replication: number, mode?: ProxyModeName): ScenarioRunResult {
  const resolved = resolveCluster(scenario);
  return simulateScenario(scenario, resolved, profile, new RandomStreams(seed, replication), { mode });
}

export async function runScenarioFile(file: string, options: ScenarioRunOptions): Promise<ScenarioRunOutput> {
  // Validate everything before writing anything: the file, the cluster it describes, the profile.
  const scenario = loadScenario(file);
  resolveCluster(scenario);
  const profile = loadCostProfile(options.profile);
  if (options.mode) getProxyMode(options.mode, "--mode");
  else getProxyMode(scenario.cluster.kubeProxy.mode, "spec.kubeProxy.mode");
  const seed = options.seed ?? scenario.run.seed;
  const replications = options.replications ?? scenario.run.replications;
  const outDir = options.out ?? join("results", scenario.name);

  const results: ScenarioRunResult[] = [];
  for (let r = 0; r < replications; r++) results.push(runScenarioReplication(scenario, profile, seed, r, options.mode));

  const lead = (replication: string): CsvRow => ({ experiment: "run", config: scenario.name, replication, seed: String(seed) });
  const summaryRows: CsvRow[] = [];
  results.forEach((res, r) => {
    for (const [metric, value] of Object.entries(res.summary)) summaryRows.push({ ...lead(String(r)), metric, value: formatDecimal(value) });
  });
  for (const metric of Object.keys(results[0]?.summary ?? {})) {
    const s = summarizeReplications(results.map((res) => res.summary[metric]));
    summaryRows.push({ ...lead("all"), metric: `${metric}_mean`, value: formatDecimal(s.mean) });
    summaryRows.push({ ...lead("all"), metric: `${metric}_ci95_low`, value: formatDecimal(s.ci95Low) });
    summaryRows.push({ ...lead("all"), metric: `${metric}_ci95_high`, value: formatDecimal(s.ci95High) });
  }
  const podRows: CsvRow[] = [];
  results.forEach((res, r) => {
    for (const p of res.pods) {
      for (const [metric, value] of Object.entries(p.metrics)) podRows.push({ ...lead(String(r)), pod: p.pod, node: p.node, metric, value: formatDecimal(value) });
    }
  });
  const summaryPath = join(outDir, "summary.csv");
  const podsPath = join(outDir, "pods.csv");
  await writeCsvAtomic(summaryPath, ["experiment", "config", "replication", "seed", "metric", "value"], summaryRows);
  await writeCsvAtomic(podsPath, ["experiment", "config", "replication", "seed", "pod", "node", "metric", "value"], podRows);
  return { summaryPath, podsPath, results, summaryRows };
}
