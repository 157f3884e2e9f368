/**
 * `npm run bench:workers [-- STUDY]`: one quick study run whole, on 1 and then 2 worker
 * threads, into fresh directories; prints both wall times and the speed-up. The CSVs must be
 * byte-identical (checked here too).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "../experiments/paths.js";

const study = process.argv[2] ?? "rolling-update-errors";
const bin = resolve(packageRoot, "bin", "svcsim.js");

function timed(workers: number): { seconds: number; csv: string } {
  const out = mkdtempSync(join(tmpdir(), `svcsim-w${workers}-`));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, "exp", study, "--quick", "--workers", String(workers), "--out", out], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`svcsim exp ${study} failed: ${r.stderr}`);
  return { seconds, csv: readFileSync(join(out, `${study}.csv`), "utf8") };
}

const one = timed(1);
const two = timed(2);
process.stdout.write(
  `${study} --quick: 1 worker ${one.seconds.toFixed(1)} s, 2 workers ${two.seconds.toFixed(1)} s, ` +
    `speed-up ×${(one.seconds / two.seconds).toFixed(2)}; CSVs ${one.csv === two.csv ? "identical" : "DIFFER"}\n`,
);
