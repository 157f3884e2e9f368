/**
 * The first-packet-latency study at its quick size (one replication): the shape the published
 * figures have — iptables grows with the number of Services, nftables does not — and our p50s
 * within 25 % of the published ones at 5k, 10k and 30k Services.
 */
import { describe, expect, it } from "vitest";
import { firstPacketLatency } from "./firstPacketLatency.js";
import { makePlan } from "./plan.js";
import { runPlan } from "./runner.js";
import { summaryValue } from "./rows.js";
import { tempDir } from "../test/cli.js";

describe("first-packet-latency --quick", async () => {
  const plan = makePlan(firstPacketLatency, { quick: true, replications: 1, seed: 1 });
  const { rows } = await runPlan(firstPacketLatency, plan, { outDir: tempDir() });
  const p50 = (mode: string, services: number) => summaryValue(rows, { mode, services }, "first_packet_p50_s_mean");
  const published = (mode: string, services: number) => summaryValue(rows, { mode, services }, "published_first_packet_p50_s");

  it("iptables' p50 grows with Services: 30k at least 3 × 5k", () => {
    expect(p50("iptables", 30_000)).toBeGreaterThanOrEqual(3 * p50("iptables", 5_000));
  });

  it("nftables' p50 stays flat: within 1.3 × across 5k-30k", () => {
    const v = [5_000, 10_000, 30_000].map((s) => p50("nftables", s));
    expect(Math.max(...v) / Math.min(...v)).toBeLessThanOrEqual(1.3);
  });

  for (const mode of ["iptables", "ipvs", "nftables"]) {
    for (const services of [5_000, 10_000, 30_000]) {
      it(`${mode} at ${services} Services: p50 within 25 % of the published figure`, () => {
        const ours = p50(mode, services);
        const theirs = published(mode, services);
        expect(Number.isFinite(theirs)).toBe(true);
        expect(Math.abs(ours - theirs) / theirs).toBeLessThanOrEqual(0.25);
      });
    }
  }
});
