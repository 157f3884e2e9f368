/**
 * `npm run bench:rules [-- SERVICES ENDPOINTS RUNS]`: the whole `svcsim rules` process for a
 * scenario of SERVICES × ENDPOINTS (YAML included) against the real kernel loading the same
 * rules with iptables-legacy-restore into a fresh network namespace, alternately, RUNS times
 * each (default 10000 4 5); prints the medians and the ratio. Needs root, iptables and nfacct.
 *
 * Also times, in the same rotation, the floor under any `svcsim rules` that reads YAML: a node
 * process that only parses the same file with js-yaml (the parser svcsim uses, the fastest
 * JavaScript one we know) and exits — node's start-up plus the parse, nothing else.
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

// The parse alone, in a process of its own: js-yaml resolved from svcsim's own dependencies.
const jsYaml = resolve(packageRoot, "node_modules", "js-yaml", "index.js");
const parseOnly = `import y from ${JSON.stringify(jsYaml)}; import { readFileSync } from "node:fs";
y.loadAll(readFileSync(${JSON.stringify(scenario)}, "utf8"), () => {}, { schema: y.CORE_SCHEMA });`;

const ours: number[] = [];
const kernel: number[] = [];
const floor: number[] = [];
let text = "";
for (let i = 0; i < runs; i++) {
  ours.push(seconds(() => (text = must(process.execPath, [bin, "rules", scenario, "--mode", "iptables", "--node", "node-1"]))));
  writeFileSync(rules, text);
  floor.push(seconds(() => must(process.execPath, ["--input-type=module", "-e", parseOnly])));
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
const f = median(floor);
const list = (xs: number[]) => `[${xs.map((x) => x.toFixed(2)).join(", ")}]`;
process.stdout.write(
  `${services} Services × ${endpoints} endpoints (${text.split("\n").length} lines): svcsim rules (whole process) median ${a.toFixed(2)} s ` +
    `${list(ours)}; iptables-legacy-restore median ${b.toFixed(2)} s ${list(kernel)}; svcsim is ×${(b / a).toFixed(2)} the kernel's speed\n` +
    `floor: node + js-yaml parsing the file, nothing else, median ${f.toFixed(2)} s ${list(floor)}; ` +
    `×2 leaves ${(b / 2 - f).toFixed(2)} s after it for validating, resolving, compiling, rendering and writing (svcsim spends ${(a - f).toFixed(2)} s)\n`,
);
