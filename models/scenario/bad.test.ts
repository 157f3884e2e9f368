/**
 * The corpus of bad scenarios in test/fixtures/bad/: each file says, in a `# expect: <fragment>`
 * comment, a fragment of the message it must produce (usually the field path). Loading and
 * resolving it must throw an InputError whose one-line message names the file and that fragment.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { InputError } from "../../sim/errors.js";
import { resolveCluster } from "../cluster/resolve.js";
import { loadScenario } from "./load.js";

const dir = join(import.meta.dirname, "../../test/fixtures/bad");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

function expectedFragment(file: string): string {
  const m = /^# expect: (.+)$/m.exec(readFileSync(join(dir, file), "utf8"));
  if (!m) throw new Error(`${file} has no "# expect:" line`);
  return m[1].trim();
}

describe("bad scenario corpus", () => {
  test("has at least 15 files, each with an # expect: line", () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) expect(expectedFragment(f)).not.toBe("");
  });

  test.each(files)("%s is refused with a message naming the file and the field", (file) => {
    const path = join(dir, file);
    let caught: unknown;
    try {
      resolveCluster(loadScenario(path));
    } catch (e) {
      caught = e;
    }
    expect(caught, `${file} was accepted`).toBeInstanceOf(InputError);
    const err = caught as InputError;
    const text = err.format();
    expect(text).toContain(path);
    expect(text).toContain(expectedFragment(file));
    expect(text).not.toContain("\n");
    expect(text).not.toMatch(/\s+at\s+\S+\s+\(/); // no stack frames
  });
});
