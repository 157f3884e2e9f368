/**
 * Bundles the command and the worker thread's module into dist/bundle/:
 *
 * - cli.cjs: the command (experiments/cli.ts and all it imports), one CommonJS file, which
 *   bin/svcsim.js loads through V8's code cache (bin/codeCache.js). Parts that only some commands
 *   need are imported lazily in the sources; esbuild keeps them lazy (each module's body runs
 *   when first imported), so one file costs no more to run than a chunk per part, and it can be
 *   loaded from the code cache in one piece: no ES module loader resolving and translating
 *   twenty chunks, no parsing (a short command 68 → 55 ms, docs/PERFORMANCE.md).
 * - vendor/NAME.cjs: the large libraries only some commands use (zod and js-yaml for scenario
 *   files, vega and vega-lite for charts), each bundled alone and required when first needed.
 *   In cli.cjs they would cost every command their reading and the code cache's size (~10 ms
 *   per MB, measured); from node_modules, vega alone is some ninety modules (140 ms to load,
 *   bundled 40 ms).
 * - worker.js and its chunks: the worker thread's module, an ES module split into a chunk per
 *   lazily imported part (a pool's threads load only what their tasks need).
 *
 * piscina (worker pools) and yaml (error locations) stay outside, loaded from node_modules
 * when needed. The tests, the benchmarks and the worker threads of the compiled sources use
 * the same sources; only the entry points differ.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/**
 * vega-canvas's Node build tries `await import("canvas")` at the top of the module (node-canvas,
 * for raster output), and a CommonJS bundle cannot hold a top-level await. svcsim draws SVG and
 * never installs node-canvas, so that import always fails and vega-canvas then answers exactly
 * as its browser build does: no canvas, no image (outside a browser both look for `document`
 * and `Image` and find neither). The vega bundle takes the browser build.
 */
const noNodeCanvas = {
  name: "no-node-canvas",
  setup(b) {
    // The package exports the browser build as its "default" condition; esbuild on platform node
    // would pick "node". Beside the Node build, by name (the build fails if it is not there).
    const browserBuild = join(dirname(fileURLToPath(import.meta.resolve("vega-canvas"))), "vega-canvas.browser.js");
    if (!existsSync(browserBuild)) throw new Error(`bundle: ${browserBuild} not found`);
    b.onResolve({ filter: /^vega-canvas$/ }, () => ({ path: browserBuild }));
  },
};

// Chunk names carry content hashes, and a code cache belongs to one build of cli.cjs: start
// from an empty directory.
rmSync("dist/bundle", { recursive: true, force: true });

const common = { bundle: true, platform: "node", target: "node20", sourcemap: true, logLevel: "warning" };
/**
 * The vendored libraries: each bundle's name, and its entry. vega-lite imports much of vega, so
 * the two share one bundle (apart they came to 2.8 MB, together 1.7).
 */
const VENDOR = {
  zod: 'export * from "zod";',
  "js-yaml": 'export { default } from "js-yaml"; export * from "js-yaml";',
  charts: 'export * as vega from "vega"; export * as vegaLite from "vega-lite";',
};
/** What the sources import, and where the vendor bundles have it. */
const VENDORED = { zod: ["zod", ""], "js-yaml": ["js-yaml", ""], vega: ["charts", "vega"], "vega-lite": ["charts", "vegaLite"] };

/** The command's imports of the vendored libraries, redirected to their bundles. */
const vendored = {
  name: "vendored",
  setup(b) {
    b.onResolve({ filter: /^\.\/vendor\// }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: new RegExp(`^(${Object.keys(VENDORED).join("|")})$`) }, (args) => ({ path: args.path, namespace: "vendored" }));
    b.onLoad({ filter: /.*/, namespace: "vendored" }, (args) => {
      const [bundle, member] = VENDORED[args.path];
      const contents = `module.exports = require("./vendor/${bundle}.cjs")${member ? `.${member}` : ""};`;
      return { contents, loader: "js" };
    });
  },
};

await Promise.all([
  build({
    ...common,
    entryPoints: { cli: "experiments/cli.ts" },
    outdir: "dist/bundle",
    outExtension: { ".js": ".cjs" },
    format: "cjs",
    // import() of a bundled module becomes a call of its lazy initialiser; of piscina or yaml, a
    // require(): the code cache's loader compiles the bundle as a script, which has no import().
    supported: { "dynamic-import": false },
    define: { "import.meta.url": "__svcsimModuleUrl" },
    banner: { js: 'const __svcsimModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    external: ["piscina", "yaml"],
    plugins: [lazyChildProcess, vendored],
  }),
  ...Object.entries(VENDOR).map(([name, contents]) =>
    build({ ...common, stdin: { contents, resolveDir: "." }, outfile: `dist/bundle/vendor/${name}.cjs`, format: "cjs", plugins: [noNodeCanvas] }),
  ),
  build({
    ...common,
    entryPoints: { worker: "experiments/worker.ts" },
    outdir: "dist/bundle",
    splitting: true,
    format: "esm",
    external: ["piscina", "yaml"],
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: 'import { createRequire as __svcsimRequire } from "node:module"; const require = __svcsimRequire(import.meta.url);' },
    plugins: [lazyChildProcess],
  }),
]);

/**
 * The CommonJS bundles in pure ASCII. esbuild escapes what is not ASCII in strings and names,
 * but not in regular expressions or in the comments it keeps, and one such character makes V8
 * hold the whole source as two bytes a character, which bin/codeCache.js must then decode as
 * UTF-8 (~1 ms of every command for cli.cjs). A \uXXXX escape means the same character in a
 * regular expression and nothing in a comment; only a backslash just before the character
 * would change its meaning, and the build fails if there is one.
 */
for (const file of ["dist/bundle/cli.cjs", ...Object.keys(VENDOR).map((name) => `dist/bundle/vendor/${name}.cjs`)]) {
  const text = readFileSync(file, "utf8");
  const escaped = text.replace(/\\?[^\x00-\x7f]/g, (match) => {
    if (match.startsWith("\\")) throw new Error(`bundle: ${file}: an escaped non-ASCII character (${JSON.stringify(match)})`);
    return `\\u${match.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  if (escaped !== text) writeFileSync(file, escaped);
}
