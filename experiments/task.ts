/**
 * One task: one replication of one configuration of a study, with its own streams. Kept apart
 * from the runner so that a worker thread loads only this and the study, not the CSV writer.
 */
import { RandomStreams } from "../sim/random.js";
import type { Config, ExperimentDefinition, Metrics } from "./definition.js";

/** Everything a worker needs to run one task. */
export interface TaskInput {
  experiment: string;
  config: Config;
  seed: number;
  replication: number;
}

export async function runTaskInProcess(def: ExperimentDefinition, input: TaskInput): Promise<Metrics> {
  const streams = new RandomStreams(input.seed, input.replication);
  return def.run(input.config, { seed: input.seed, replication: input.replication, streams });
}
