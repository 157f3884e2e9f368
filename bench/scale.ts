/**
 * `npm run bench:scale [-- REQUESTS]`: the workload model at scale, as one whole process —
 * REQUESTS new-connection requests (default 1,000,000) through a cluster with 10,000 Services
 * in iptables mode (each request pays DNS and its first packet against the full rule set).
 * Prints wall time and peak RSS; memory must not grow with the number of requests.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { runScenarioFile } from "../experiments/scenarioRun.js";
import { largeScenarioYaml } from "./largeScenario.js";

const requests = Number(process.argv[2] ?? 1_000_000);
const rate = 20_000;
const duration = requests / rate;

const yaml = [
  largeScenarioYaml(10_000, 4, 3, {
    // 20,000 new connections a second stay in TIME_WAIT: a table of kube-proxy's default size
    // (131,072) would drop most of them — the conntrack-limit study's subject, not this one's.
    conntrack: { maxPerCore: 262_144, coresPerNode: 2, tcpTimeWaitTimeout: "10s" },
  }),
  stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 10,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" }, annotations: { "svcsim.dev/service-time": "exp(2ms)", "svcsim.dev/concurrency": "16" } },
        spec: { containers: [{ name: "web", image: "web:1", ports: [{ containerPort: 8080 }] }] },
      },
    },
  }),
  stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] } }),
  stringify({
    apiVersion: "svcsim.dev/v1",
    kind: "Workload",
    spec: { clients: [{ name: "load", from: "node-1", target: "web:80", arrival: `poisson(${rate}/s)`, connection: "new" }] },
  }),
  stringify({ apiVersion: "svcsim.dev/v1", kind: "Run", spec: { duration: `${duration}s`, warmup: "0s", replications: 1 } }),
].join("---\n");

const dir = mkdtempSync(join(tmpdir(), "svcsim-scale-"));
const file = join(dir, "scale.yaml");
writeFileSync(file, yaml);
const t0 = performance.now();
const out = await runScenarioFile(file, { out: dir });
const wall = (performance.now() - t0) / 1000;
const s = out.results[0].summary;
const rssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `scale: ${s.requests} requests (${requests} asked) through 10,000 Services (iptables) in ${wall.toFixed(2)} s ` +
    `(${(s.requests / wall / 1e6).toFixed(2)} M requests/s), peak RSS ${rssMiB.toFixed(0)} MiB; ` +
    `p50 ${(s.p50_latency_s * 1e3).toFixed(2)} ms, first packet p50 ${(s.first_packet_p50_s * 1e6).toFixed(1)} µs, errors ${s.errors}\n`,
);
