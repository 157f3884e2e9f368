import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filesUnder, svcsim, tempDir } from "../test/cli.js";

const small = ["--set", "lambda=0.5", "--set", "customers=4000", "--set", "warmup=100", "--seed", "3"];

function run(args: string[]): string {
  const r = svcsim(args);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("svcsim exp (runner)", () => {
  it("writes the long CSV with per-replication and summary rows, and the same seed gives identical bytes", () => {
    const a = tempDir();
    const b = tempDir();
    run(["exp", "mm1", ...small, "--replications", "3", "--out", a]);
    run(["exp", "mm1", ...small, "--replications", "3", "--out", b]);
    const csvA = readFileSync(join(a, "mm1.csv"), "utf8");
    expect(csvA).toBe(readFileSync(join(b, "mm1.csv"), "utf8"));
    const lines = csvA.trim().split("\n");
    expect(lines[0]).toBe("experiment,config,replication,seed,lambda,mu,servers,customers,warmup,metric,value");
    expect(lines.some((l) => l.startsWith("mm1,base,2,3,") && l.includes(",mean_sojourn_s,"))).toBe(true);
    for (const m of ["mean_sojourn_s_mean", "mean_sojourn_s_ci95_low", "mean_sojourn_s_ci95_high", "analytic_mean_sojourn_s"]) {
      expect(lines.some((l) => l.startsWith("mm1,base,all,3,") && l.includes(`,${m},`))).toBe(true);
    }
    // Plain decimals only, never exponents.
    expect(csvA).not.toMatch(/\de[-+]?\d/);
  });

  it("a different seed gives different numbers", () => {
    const a = tempDir();
    const b = tempDir();
    run(["exp", "mm1", ...small, "--replications", "2", "--out", a]);
    run(["exp", "mm1", ...small.slice(0, -1), "4", "--replications", "2", "--out", b]);
    expect(readFileSync(join(a, "mm1.csv"), "utf8")).not.toBe(readFileSync(join(b, "mm1.csv"), "utf8"));
  });

  it("--workers 2 and --shard 0/2 + 1/2 + merge give exactly the rows of one worker", () => {
    const one = tempDir();
    const two = tempDir();
    const s0 = tempDir();
    const s1 = tempDir();
    const merged = tempDir();
    const sweep = [...small, "--set", "lambda=0.3,0.6", "--replications", "3"];
    run(["exp", "mm1", ...sweep, "--out", one]);
    run(["exp", "mm1", ...sweep, "--workers", "2", "--out", two]);
    run(["exp", "mm1", ...sweep, "--shard", "0/2", "--out", s0]);
    run(["exp", "mm1", ...sweep, "--shard", "1/2", "--out", s1]);
    run(["merge", s0, s1, "--out", merged]);
    const expected = readFileSync(join(one, "mm1.csv"), "utf8");
    expect(readFileSync(join(two, "mm1.csv"), "utf8")).toBe(expected);
    // The charts, drawn on a worker thread with --workers 2, are the same files too.
    const svgs = filesUnder(one).filter((f) => f.endsWith(".svg")).map((f) => f.slice(one.length));
    expect(svgs.length).toBeGreaterThan(0);
    for (const f of svgs) expect(readFileSync(join(two, f), "utf8")).toBe(readFileSync(join(one, f), "utf8"));
    expect(readFileSync(join(merged, "mm1.csv"), "utf8")).toBe(expected);
    // A shard alone holds only its own replication rows.
    const shardRows = readFileSync(join(s0, "mm1.csv"), "utf8").trim().split("\n").slice(1);
    expect(shardRows.every((l) => !l.includes(",all,"))).toBe(true);
  });

  it("a resumed run keeps finished runs and equals an uninterrupted one", () => {
    const full = tempDir();
    const resumed = tempDir();
    run(["exp", "mm1", ...small, "--replications", "4", "--out", full]);
    // Run shard 0/2 into the directory (as if interrupted half-way), then the whole plan there.
    run(["exp", "mm1", ...small, "--replications", "4", "--shard", "0/2", "--out", resumed]);
    const out = run(["exp", "mm1", ...small, "--replications", "4", "--out", resumed]);
    expect(out).toMatch(/2 runs resumed/);
    expect(readFileSync(join(resumed, "mm1.csv"), "utf8")).toBe(readFileSync(join(full, "mm1.csv"), "utf8"));
  });

  it("merge refuses shards of different runs", () => {
    const s0 = tempDir();
    const s1 = tempDir();
    run(["exp", "mm1", ...small, "--shard", "0/2", "--replications", "2", "--out", s0]);
    run(["exp", "mm1", ...small.slice(0, -1), "9", "--shard", "1/2", "--replications", "2", "--out", s1]);
    const r = svcsim(["merge", s0, s1, "--out", tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/different runs/);
  });

  describe("bad input: exit 2, one clear line, no file left behind", () => {
    const cases: [string, string[], RegExp][] = [
      ["negative lambda", ["--set", "lambda=-1"], /--set lambda.*expected a number > 0.*found -1/],
      ["zero servers", ["--set", "servers=0"], /--set servers.*expected an integer >= 1.*found 0/],
      ["unknown parameter", ["--set", "unknown=3"], /unknown parameter 'unknown'.*expected one of lambda, mu/],
      ["zero replications", ["--replications", "0"], /--replications.*expected an integer >= 1.*found "0"/],
      ["unstable queue", ["--set", "lambda=2"], /unstable.*expected lambda < servers × mu = 1/],
      ["not a number", ["--set", "mu=fast"], /--set mu.*expected a number.*found "fast"/],
      ["bad shard", ["--shard", "2/2"], /--shard.*expected I\/N/],
    ];
    for (const [name, args, message] of cases) {
      it(name, () => {
        const out = tempDir();
        rmSync(out, { recursive: true });
        const r = svcsim(["exp", "mm1", ...args, "--out", out]);
        expect(r.status).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(filesUnder(out)).toEqual([]);
      });
    }
    it("an unknown experiment", () => {
      const r = svcsim(["exp", "nope"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/unknown experiment 'nope'.*mm1/);
    });
  });

  it("svcsim list names mm1 with its question", () => {
    expect(run(["list"])).toMatch(/^mm1\s+.*queueing theory/m);
  });
});
