/** Where the package's own files are, whether running from dist/ (the command) or the sources (tests). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "experiments"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("svcsim: cannot find the package root above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const packageRoot = findRoot();
