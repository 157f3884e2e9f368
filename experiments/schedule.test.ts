import { describe, expect, it } from "vitest";
import type { ExperimentDefinition } from "./definition.js";
import { makePlan } from "./plan.js";
import type { TaskPool } from "./pool.js";
import { workUnits } from "./runner.js";

const study: ExperimentDefinition = {
  name: "toy",
  question: "?",
  params: {
    size: { description: "work", kind: "integer", default: [1, 30, 5, 30] },
    variant: { description: "a variant sharing the size's cache", kind: "string", default: ["a", "b"] },
  },
  quick: {},
  tiny: {},
  replications: { full: 2, quick: 1 },
  run: () => ({}),
};
const cost = (c: Record<string, string | number>) => Number(c.size);

describe("how a worker pool takes the tasks", () => {
  it("one task a unit, costliest first; equal costs keep the plan's order", () => {
    const def = { ...study, cost };
    const plan = makePlan(def, {});
    const units = workUnits(def, plan, plan.tasks);
    expect(units.every((u) => u.length === 1)).toBe(true);
    const sizes = units.map((u) => plan.configs[u[0].configIndex].size);
    expect(sizes).toEqual([30, 30, 30, 30, 30, 30, 30, 30, 5, 5, 5, 5, 1, 1, 1, 1]);
    // Equal costs: plan order (the first size-30 config, index 2, before index 3, 6, 7).
    expect(units.slice(0, 8).map((u) => u[0].index)).toEqual([4, 5, 6, 7, 12, 13, 14, 15]);
    // Every task exactly once.
    expect(units.flat().map((t) => t.index).sort((a, b) => a - b)).toEqual(plan.tasks.map((t) => t.index));
  });

  it("configs with one share key form one unit, in plan order, ranked by their total cost", () => {
    const def = { ...study, cost, shareKey: (c: Record<string, string | number>) => `size=${c.size}` };
    const plan = makePlan(def, {});
    const units = workUnits(def, plan, plan.tasks);
    // Four sizes (30 twice in the grid: two keys are equal, so one unit of 8 tasks).
    expect(units.map((u) => u.length)).toEqual([8, 4, 4]);
    expect(units.map((u) => plan.configs[u[0].configIndex].size)).toEqual([30, 5, 1]);
    for (const u of units) {
      expect(new Set(u.map((t) => plan.configs[t.configIndex].size)).size).toBe(1);
      expect(u.map((t) => t.index)).toEqual([...u.map((t) => t.index)].sort((a, b) => a - b));
    }
    expect(units.flat().map((t) => t.index).sort((a, b) => a - b)).toEqual(plan.tasks.map((t) => t.index));
  });

  it("a study without estimates keeps the plan's order", () => {
    const plan = makePlan(study, {});
    expect(workUnits(study, plan, plan.tasks).flat()).toEqual(plan.tasks);
  });
});

describe("a task failing on a worker thread", () => {
  it("stops every thread from claiming more, and fails the run with its error", async () => {
    const { runPlan } = await import("./runner.js");
    const { tempDir } = await import("../test/cli.js");
    let ran = 0;
    const def: ExperimentDefinition = { ...study, run: () => ((ran += 1), { x: 1 }) };
    const plan = makePlan(def, {});
    const pool: TaskPool = {
      runLanes: () => ({ started: Promise.resolve(), finished: Promise.reject(new Error("boom on a worker")) }),
      drawCharts: async () => [],
      close: async () => {},
    };
    await expect(runPlan(def, plan, { outDir: tempDir(), pool })).rejects.toThrow("boom on a worker");
    expect(ran).toBeLessThan(plan.tasks.length);
  });
});
