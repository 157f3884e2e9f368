/**
 * The whole `svcsim exp mm1` command as a child process, timed: shared by bench/mm1.ts (against
 * SimPy) and bench/mm1.bench.ts (benchmark.js). M/M/1 with λ = 0.9, μ = 1, one replication,
 * warm-up 0, seed 7, into a fresh output directory made and removed around the run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "../experiments/paths.js";

export const LAMBDA = 0.9;
export const MU = 1;
export const SEED = 7;

/**
 * The environment of a run: this one, or this one without NODE_EXTRA_CA_CERTS. With that
 * variable set (this sandbox sets it for its TLS proxy), Node reads and parses the named
 * certificate bundle before it runs any script: ~37 ms of every process here, svcsim or not
 * (`node -e 0`: 60 ms against 23). A stock install has no such variable.
 */
export type Env = "as is" | "stock";

export function envOf(env: Env): NodeJS.ProcessEnv {
  if (env === "as is") return process.env;
  const { NODE_EXTRA_CA_CERTS: _dropped, ...rest } = process.env;
  return rest;
}

/** Seconds of wall time of one whole `svcsim exp mm1` process; throws if it fails. */
export function mm1Process(customers: number, options: { charts: boolean; env?: Env }): number {
  const out = mkdtempSync(join(os.tmpdir(), "svcsim-mm1-"));
  try {
    const args = [
      resolve(packageRoot, "bin", "svcsim.js"),
      "exp",
      "mm1",
      ...["--set", `lambda=${LAMBDA}`, "--set", `mu=${MU}`, "--set", "servers=1"],
      ...["--set", `customers=${customers}`, "--set", "warmup=0", "--replications", "1", "--seed", String(SEED), "--out", out],
      ...(options.charts ? [] : ["--no-charts"]),
    ];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: "utf8", env: envOf(options.env ?? "as is") });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0 || !existsSync(join(out, "mm1.csv"))) throw new Error(`svcsim exp mm1 failed (status ${r.status}): ${r.stderr}`);
    return seconds;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
