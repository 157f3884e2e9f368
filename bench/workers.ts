/**
 * `npm run bench:workers [-- STUDY]`: one quick study run whole, on 1 and then 2 worker
 * threads, into fresh directories; prints both wall times and the speed-up. The CSVs must be
 * byte-identical (checked here too).
 *
 * It also prints the CPU time the machine spent during each run (all processes, from
 * /proc/stat; run it on an otherwise idle machine), and from it a bound on the speed-up. Two
 * workers do about as much CPU work as one (in practice a little more: each thread's isolate
 * compiles its own hot code), on two cores, so their wall time is at least about half the
 * one-worker run's CPU time. A one-worker run already keeps more than one core busy (V8
 * compiles and collects garbage on background threads): that is what holds the bound below 2.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "../experiments/paths.js";

const study = process.argv[2] ?? "rolling-update-errors";
const bin = resolve(packageRoot, "bin", "svcsim.js");

/** Seconds of CPU time the whole machine has spent busy (not idle, not waiting for I/O); NaN off Linux. */
function busyCpuSeconds(): number {
  try {
    // cpu  user nice system idle iowait irq softirq steal ... (in USER_HZ, 100 per second)
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return Number.NaN;
  }
}

function timed(workers: number): { seconds: number; cpu: number; csv: string } {
  const out = mkdtempSync(join(tmpdir(), `svcsim-w${workers}-`));
  const cpu0 = busyCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, "exp", study, "--quick", "--workers", String(workers), "--out", out], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = busyCpuSeconds() - cpu0;
  if (r.status !== 0) throw new Error(`svcsim exp ${study} failed: ${r.stderr}`);
  return { seconds, cpu, csv: readFileSync(join(out, `${study}.csv`), "utf8") };
}

const one = timed(1);
const two = timed(2);
const cores = (run: { seconds: number; cpu: number }) => (run.cpu / run.seconds).toFixed(2);
process.stdout.write(
  `${study} --quick: 1 worker ${one.seconds.toFixed(1)} s, 2 workers ${two.seconds.toFixed(1)} s, ` +
    `speed-up ×${(one.seconds / two.seconds).toFixed(2)}; CSVs ${one.csv === two.csv ? "identical" : "DIFFER"}\n` +
    `  CPU busy: 1 worker ${one.cpu.toFixed(1)} s (${cores(one)} cores), 2 workers ${two.cpu.toFixed(1)} s (${cores(two)} cores); ` +
    `on 2 cores the speed-up is at most 2 × ${one.seconds.toFixed(1)} / ${one.cpu.toFixed(1)} = ×${((2 * one.seconds) / one.cpu).toFixed(2)}\n`,
);
