/**
 * Bundles the command (experiments/cli.ts) and the worker thread's module into dist/bundle/:
 * one file to load instead of some forty modules and the CommonJS packages they import
 * (commander, fast-csv), which is most of the command's start-up beyond Node's own. vega and
 * vega-lite are bundled too, into the chunk of the charts module, which only the commands that
 * draw load: from node_modules they are some ninety modules, 140 ms to import, bundled 40 ms.
 * piscina (worker pools) and yaml (error locations) stay outside, imported from node_modules
 * when needed. The tests, the benchmarks and `svcsim` inside a worker pool's threads use the
 * same sources; only the entry points differ.
 */
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

/**
 * commander requires node:child_process when it loads (~5 ms: child_process pulls in net,
 * dgram and more), for one thing we never do: running a subcommand as a separate executable.
 * In the bundle it is required when first used instead. The plugin fails the build if
 * commander's source no longer has the line, rather than silently leaving it.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(eager)) throw new Error(`bundle: ${args.path} no longer has "${eager}"`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: "js" };
    });
  },
};

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
  external: ["piscina", "yaml"],
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __svcsimRequire } from "node:module"; const require = __svcsimRequire(import.meta.url);' },
  plugins: [lazyChildProcess],
  logLevel: "warning",
});
