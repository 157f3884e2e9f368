/**
 * A task is a pure function of (study, config, seed, replication): what ran before it on the
 * same thread must not matter. Worker pools, shards and resumed runs all run tasks in other
 * orders than the plan's, and must write the same bytes. Studies cache compiled planes across
 * tasks, which is where state could leak (IPVS's rr positions, say); here every study's tiny
 * plan runs in its own order and then backwards on one thread, and every task's metrics must
 * be equal.
 */
import { describe, expect, it } from "vitest";
import type { Metrics } from "./definition.js";
import { makePlan } from "./plan.js";
import { loadExperiments } from "./registry.js";
import { runTaskInProcess } from "./task.js";

const experiments = await loadExperiments();

describe("a task's result does not depend on the tasks run before it", () => {
  for (const def of experiments) {
    it(def.name, async () => {
      const plan = makePlan(def, { tiny: true, seed: 5, replications: 2 });
      const input = (i: number) => ({ experiment: def.name, config: plan.configs[plan.tasks[i].configIndex], seed: plan.seed, replication: plan.tasks[i].replication });
      const forward: Metrics[] = [];
      for (let i = 0; i < plan.tasks.length; i++) forward.push(await runTaskInProcess(def, input(i)));
      const backward: Metrics[] = new Array<Metrics>(plan.tasks.length);
      for (let i = plan.tasks.length - 1; i >= 0; i--) backward[i] = await runTaskInProcess(def, input(i));
      expect(plan.tasks.length).toBeGreaterThan(1);
      expect(backward).toEqual(forward);
    });
  }
});
