/**
 * Primes the code caches of the bundles in dist/bundle (bin/codeCache.js) by running one short
 * command, `svcsim exp mm1 --tiny` with its charts: the first command after a build then starts
 * as fast as the later ones, and whichever command comes first, the caches hold the functions of
 * the most common path (a study run, its CSV, its charts). A command compiles what the cache
 * lacks as it would without one. If priming fails, the first command writes the caches instead.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "svcsim-prime-"));
try {
  const r = spawnSync(process.execPath, ["bin/svcsim.js", "exp", "mm1", "--tiny", "--out", out], { encoding: "utf8" });
  if (r.status !== 0) process.stderr.write(`primeCodeCache: svcsim exp mm1 --tiny exited ${r.status}; the first command will write the caches\n${r.stderr}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
