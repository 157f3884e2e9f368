/**
 * Bundles the command (experiments/cli.ts) and the worker thread's module into dist/bundle/:
 * one file to load instead of some forty modules and the CommonJS packages they import
 * (commander, fast-csv), which is most of the command's start-up beyond Node's own. Packages
 * loaded only for some commands stay outside, imported from node_modules when needed: vega
 * and vega-lite (charts), piscina (worker pools), yaml (error locations). The tests, the
 * benchmarks and `svcsim` inside a worker pool's threads use the same sources; only the
 * entry points differ.
 */
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: start from an empty directory, or old chunks pile up.
rmSync("dist/bundle", { recursive: true, force: true });

await build({
  entryPoints: { cli: "experiments/cli.ts", worker: "experiments/worker.ts" },
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  external: ["vega", "vega-lite", "piscina", "yaml"],
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __svcsimRequire } from "node:module"; const require = __svcsimRequire(import.meta.url);' },
  logLevel: "warning",
});
