/**
 * The per-connection and per-change hot paths of models/proxy that are not a mode's own:
 * - turning a first packet's Work into time (firstPacketCost, and the jittered sample the
 *   simulator takes per new connection);
 * - conntrack: a later packet of a tracked connection (lookup + timeout refresh), and the churn
 *   of short connections (insert, state changes, lazy expiry) at a steady table of ~120k entries;
 * - the sync loop: one change delivered to a node's KubeProxySync, batched and programmed
 *   (stub planes, so the figure is the loop's own cost, not a mode's compile).
 */
import Benchmark from "benchmark";
import { Simulation } from "../sim/engine.js";
import { createStream } from "../sim/random.js";
import { NS_PER_MS, NS_PER_S } from "../sim/time.js";
import { ConntrackTable } from "../models/proxy/conntrack.js";
import { firstPacketCost, loadCostProfile, sampleFirstPacketCost } from "../models/proxy/cost.js";
import { KubeProxySync } from "../models/proxy/sync.js";
import type { CompiledDataPlane, DataPlaneSize, Work } from "../models/proxy/types.js";

const MAX_TIME = 2;
const profile = loadCostProfile();

function costSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("first-packet cost (per new connection)");
  const size: DataPlaneSize = { rules: 420_000, chains: 150_000, mapElements: 0 };
  const works: Work[] = [];
  const rng = createStream(1, 0, "bench/cost");
  for (let i = 0; i < 1024; i++) {
    const k = Math.floor(rng.next() * 30_000) + 15;
    works.push({ rulesTraversed: k, matchesTried: k, mapLookups: 0, chainJumps: 8 });
  }
  let i = 0;
  let sink = 0;
  suite.add("firstPacketCost, iptables 30k Services", () => {
    sink += firstPacketCost(profile, "iptables", works[i++ & 1023], size);
  }, { maxTime: MAX_TIME });
  suite.add("sampleFirstPacketCost (jittered), iptables 30k Services", () => {
    sink += sampleFirstPacketCost(profile, "iptables", works[i++ & 1023], size, rng);
  }, { maxTime: MAX_TIME, onComplete: () => void (sink > 0) });
  return suite;
}

function conntrackSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("conntrack (per packet / per connection)");
  let table = new ConntrackTable();
  let t = 0;
  let id = 0;
  suite.add(
    "packet() of a tracked connection, 100k entries",
    () => {
      t += 1000;
      table.packet(id++ % 100_000, t);
    },
    {
      maxTime: MAX_TIME,
      onStart: () => {
        table = new ConntrackTable();
        t = 0;
        id = 0;
        for (let k = 0; k < 100_000; k++) table.insert(k, 0, "TCP_ESTABLISHED", `10.244.${k & 255}.${k >> 8 & 255}:8080`);
      },
    },
  );
  suite.add(
    "short connection: insert, established, time-wait (1000/s, ~120k in TIME_WAIT)",
    () => {
      t += NS_PER_MS;
      if (id >= 1000) table.setState(id - 1000, t, "TCP_TIME_WAIT");
      table.insert(id, t, "TCP_SYN_SENT", "10.244.0.5:8080");
      table.setState(id, t, "TCP_ESTABLISHED");
      id++;
    },
    {
      maxTime: MAX_TIME,
      onStart: () => {
        table = new ConntrackTable();
        t = 0;
        id = 0;
        // Warm up to the steady state: 130 s of connections.
        for (let k = 0; k < 130_000; k++) {
          t += NS_PER_MS;
          if (id >= 1000) table.setState(id - 1000, t, "TCP_TIME_WAIT");
          table.insert(id, t, "TCP_SYN_SENT", "10.244.0.5:8080");
          table.setState(id, t, "TCP_ESTABLISHED");
          id++;
        }
      },
    },
  );
  return suite;
}

function syncSuite(): Benchmark.Suite {
  const suite = new Benchmark.Suite("sync loop (per change, stub planes)");
  const BATCH = 1000;
  const size: DataPlaneSize = { rules: 140_020, chains: 50_010, mapElements: 0 };
  const plane: CompiledDataPlane = {
    mode: "iptables",
    nodeName: "node-1",
    render: () => "",
    evaluate: () => ({ action: "none", masquerade: false, work: { rulesTraversed: 0, matchesTried: 0, mapLookups: 0, chainJumps: 0 } }),
    size: () => size,
  };
  suite.add(
    `${BATCH} changes 20 ms apart through one node's KubeProxySync (op = ${BATCH} changes)`,
    () => {
      const sim = new Simulation();
      const sync = new KubeProxySync(sim, {
        mode: "iptables",
        nodeName: "node-1",
        profile,
        compile: () => plane,
        serviceCount: () => 10_000,
      });
      const deliver = sim.on<number>((n) => sync.notifyChange(sim.now, [`ns/svc-${n}`]));
      for (let k = 0; k < BATCH; k++) sim.scheduleAt(k * 20 * NS_PER_MS, deliver, k);
      sim.run(BATCH * 20 * NS_PER_MS + 10 * NS_PER_S);
      if (sync.stats().changesProgrammed !== BATCH) throw new Error("changes lost");
    },
    { maxTime: MAX_TIME },
  );
  return suite;
}

export function createSuites(): Benchmark.Suite[] {
  return [costSuite(), conntrackSuite(), syncSuite()];
}
