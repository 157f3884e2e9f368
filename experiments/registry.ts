/** The shipped studies, in the order `svcsim list` shows them. */
import type { ExperimentDefinition } from "./definition.js";
import { firstPacketLatency } from "./firstPacketLatency.js";
import { headlessDns } from "./headlessDns.js";
import { keepaliveFairness } from "./keepaliveFairness.js";
import { rollingUpdateErrors } from "./rollingUpdateErrors.js";
import { mm1 } from "./mm1.js";
import { ruleSync } from "./ruleSync.js";

export const experiments: readonly ExperimentDefinition[] = [
  firstPacketLatency,
  ruleSync,
  keepaliveFairness,
  rollingUpdateErrors,
  headlessDns,
  mm1,
];

export function findExperiment(name: string): ExperimentDefinition | undefined {
  return experiments.find((e) => e.name === name);
}
