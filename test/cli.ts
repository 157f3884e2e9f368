/** Helpers for tests that run the real `svcsim` command (compiled by `npm test` before vitest). */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "..");
const bin = join(repoRoot, "bin", "svcsim.js");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function svcsim(args: string[], cwd: string = repoRoot): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = "svcsim-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Files in a directory, recursively, hidden ones included; [] if it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}
