/** The shipped studies, in the order `svcsim list` shows them. */
import type { ExperimentDefinition } from "./definition.js";
import { conntrackLimit } from "./conntrackLimit.js";
import { dnsNdots } from "./dnsNdots.js";
import { firstPacketLatency } from "./firstPacketLatency.js";
import { headlessDns } from "./headlessDns.js";
import { keepaliveFairness } from "./keepaliveFairness.js";
import { rollingUpdateErrors } from "./rollingUpdateErrors.js";
import { mm1 } from "./mm1.js";
import { ruleSync } from "./ruleSync.js";
import { serviceTypes } from "./serviceTypes.js";
import { trafficPolicy } from "./trafficPolicy.js";

export const experiments: readonly ExperimentDefinition[] = [
  firstPacketLatency,
  ruleSync,
  serviceTypes,
  keepaliveFairness,
  rollingUpdateErrors,
  trafficPolicy,
  headlessDns,
  dnsNdots,
  conntrackLimit,
  mm1,
];

export function findExperiment(name: string): ExperimentDefinition | undefined {
  return experiments.find((e) => e.name === name);
}
