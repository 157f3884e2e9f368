/**
 * The corpus of bad scenario files, through the real command: each gives exit status 2, one
 * line naming the file and the field (the `# expect:` comment in the file), no stack trace,
 * and no output file.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filesUnder, repoRoot, svcsim, tempDir } from "./cli.js";

const dir = join(repoRoot, "test", "fixtures", "bad");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

describe("bad scenario files", () => {
  it("the corpus has at least 15 files", () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });
  for (const name of files) {
    it(name, () => {
      const path = join(dir, name);
      const expectLine = /^# expect: (.+)$/m.exec(readFileSync(path, "utf8"));
      expect(expectLine, `${name} has an '# expect:' comment`).not.toBeNull();
      const fragment = expectLine![1].trim();
      const out = tempDir();
      rmSync(out, { recursive: true });
      const r = svcsim(["run", path, "--out", out]);
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(name);
      expect(lines[0]).toContain(fragment);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(filesUnder(out)).toEqual([]);
    });
  }
});
