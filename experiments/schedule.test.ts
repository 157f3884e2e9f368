import { describe, expect, it } from "vitest";
import type { ExperimentDefinition } from "./definition.js";
import { makePlan } from "./plan.js";
import { costliestFirst } from "./runner.js";

const study: ExperimentDefinition = {
  name: "toy",
  question: "?",
  params: { size: { description: "work", kind: "integer", default: [1, 30, 5, 30] } },
  quick: {},
  tiny: {},
  replications: { full: 2, quick: 1 },
  run: () => ({}),
};

describe("the order a worker pool starts tasks in", () => {
  it("costliest first by the study's estimate; equal costs keep the plan's order", () => {
    const plan = makePlan({ ...study, cost: (c) => Number(c.size) }, {});
    const order = costliestFirst({ ...study, cost: (c) => Number(c.size) }, plan, plan.tasks);
    expect(order.map((t) => [plan.configs[t.configIndex].size, t.replication])).toEqual([
      [30, 0], [30, 1], [30, 0], [30, 1], [5, 0], [5, 1], [1, 0], [1, 1],
    ]);
    // The two configs of size 30: the earlier one (index 1) first.
    expect(order.slice(0, 4).map((t) => t.configIndex)).toEqual([1, 1, 3, 3]);
    // Every task exactly once.
    expect(order.map((t) => t.index).sort((a, b) => a - b)).toEqual(plan.tasks.map((t) => t.index));
  });

  it("a study without an estimate keeps the plan's order", () => {
    const plan = makePlan(study, {});
    expect(costliestFirst(study, plan, plan.tasks)).toEqual(plan.tasks);
  });
});
