/**
 * Every shipped study runs at its tiny size and writes well-formed CSV: the leading columns of
 * DESIGN.md, one row per value, summary rows with mean and CI for every per-replication metric,
 * no empty cells. (What each study's numbers say is tested beside the models they come from.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test/cli.js";
import { readCsv } from "./csv.js";
import { makePlan } from "./plan.js";
import { loadExperiments } from "./registry.js";

const experiments = await loadExperiments();
import { writeCharts } from "./plot.js";
import { runPlan } from "./runner.js";

describe("shipped studies at their tiny size", () => {
  it("there are ten studies, each with a question", () => {
    expect(experiments.length).toBeGreaterThanOrEqual(10);
    for (const e of experiments) expect(e.question.length).toBeGreaterThan(20);
  });

  for (const def of experiments) {
    it(def.name, async () => {
      const out = tempDir();
      const plan = makePlan(def, { tiny: true, seed: 3, replications: 2 });
      const result = await runPlan(def, plan, { outDir: out });
      const { headers, rows } = await readCsv(result.csvPath);
      expect(headers.slice(0, 4)).toEqual(["experiment", "config", "replication", "seed"]);
      expect(headers.slice(-2)).toEqual(["metric", "value"]);
      expect(headers.slice(4, -2)).toEqual(Object.keys(def.params));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        for (const h of headers) expect(row[h], `${h} in ${JSON.stringify(row)}`).not.toBe("");
        expect(row.experiment).toBe(def.name);
        expect(row.value).toMatch(/^(-?\d+(\.\d+)?|NaN|-?Inf)$/);
      }
      const perReplication = new Set(rows.filter((r) => r.replication !== "all").map((r) => r.metric));
      const summaries = new Set(rows.filter((r) => r.replication === "all").map((r) => r.metric));
      for (const m of perReplication) {
        for (const suffix of ["_mean", "_ci95_low", "_ci95_high"]) expect(summaries.has(m + suffix), m + suffix).toBe(true);
      }
      expect(readFileSync(join(out, `${def.name}.csv`), "utf8").split("\n")[0]).toBe(headers.join(","));
      // Its charts render from its own rows into well-formed SVG.
      expect(def.charts, `${def.name} has charts`).toBeDefined();
      const paths = await writeCharts(out, def.charts!(rows));
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) {
        const svg = readFileSync(p, "utf8");
        expect(svg.startsWith("<svg")).toBe(true);
        expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
        expect(svg).not.toContain("NaN");
      }
    });
  }
});
