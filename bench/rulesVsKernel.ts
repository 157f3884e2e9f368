/**
 * `npm run bench:rules [-- SERVICES ENDPOINTS RUNS]`: the whole `svcsim rules` process for a
 * scenario of SERVICES × ENDPOINTS (YAML included) against the real kernel loading the same
 * rules with iptables-legacy-restore into a fresh network namespace, alternately, RUNS times
 * each (default 10000 4 5); prints the medians and the ratio. Needs root, iptables and nfacct.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "../experiments/paths.js";
import { largeScenarioYaml } from "./largeScenario.js";

const [services = 10_000, endpoints = 4, runs = 5] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), "svcsim-rules-"));
const scenario = join(dir, "scenario.yaml");
const rules = join(dir, "rules.txt");
writeFileSync(scenario, largeScenarioYaml(services, endpoints, 3));
const bin = resolve(packageRoot, "bin", "svcsim.js");

function seconds(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function must(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 30, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

const ours: number[] = [];
const kernel: number[] = [];
let text = "";
for (let i = 0; i < runs; i++) {
  ours.push(seconds(() => (text = must(process.execPath, [bin, "rules", scenario, "--mode", "iptables", "--node", "node-1"]))));
  writeFileSync(rules, text);
  const ns = `svcsim-bench-${process.pid}-${i}`;
  must("ip", ["netns", "add", ns]);
  try {
    // kube-proxy creates its nfacct counters over netlink before its first restore; so do we
    // (apt-get install nfacct), outside the timed part.
    for (const counter of ["ct_state_invalid_dropped_pkts", "localhost_nps_accepted_pkts"]) must("ip", ["netns", "exec", ns, "nfacct", "add", counter]);
    kernel.push(seconds(() => must("ip", ["netns", "exec", ns, "iptables-legacy-restore", rules])));
  } finally {
    spawnSync("ip", ["netns", "delete", ns]);
  }
}
const a = median(ours);
const b = median(kernel);
process.stdout.write(
  `${services} Services × ${endpoints} endpoints (${text.split("\n").length} lines): svcsim rules (whole process) median ${a.toFixed(2)} s ` +
    `[${ours.map((x) => x.toFixed(2)).join(", ")}]; iptables-legacy-restore median ${b.toFixed(2)} s [${kernel.map((x) => x.toFixed(2)).join(", ")}]; ` +
    `svcsim is ×${(b / a).toFixed(2)} the kernel's speed\n`,
);
