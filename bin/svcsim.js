#!/usr/bin/env node
// The package's command. The TypeScript sources are compiled to dist/ by `npm install`
// (the prepare script), so the command starts without a TypeScript loader; the command itself
// runs from a CommonJS bundle of them (scripts/bundle.mjs), loaded through V8's code cache.
// This file is CommonJS too (bin/package.json says so; the path stays what users and npx's cache
// know): an ES module entry point would cost Node its ES module loader (~3 ms of a 50 ms
// command), for nothing the command needs.
"use strict";
const { join } = require("node:path");
const v8 = require("node:v8");
const { createCodeCache } = require("./codeCache.js");
const { COMMAND_V8_FLAGS } = require("./v8Flags.js");

// A reader that stops early (`svcsim rules ... | head`) is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// No young-generation flags here: V8 sizes a heap when its isolate starts, so
// --max-semi-space-size set now would not reach this thread's heap (measured: `svcsim rules`
// on 10k Services scavenges 46 times with or without it), and the worker threads of a pool,
// created later, showed no gain from it.
// The flags (bin/v8Flags.js) are set before the bundle is loaded: V8 refuses a code cache made
// under other flags.
v8.setFlagsFromString(COMMAND_V8_FLAGS);

// The command's bundle, and the vendor bundles it requires, through their code caches.
const bundles = createCodeCache();
const bundle = join(__dirname, "..", "dist", "bundle", "cli.cjs");
let main;
try {
  ({ main } = bundles.load(bundle));
} catch (err) {
  if (err.code !== "ENOENT" || err.path !== bundle) throw err;
  process.stderr.write(`svcsim: ${bundle} is missing: build it with \`npm run build\` (npm install does)\n`);
  process.exit(1);
}
main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
  bundles.save();
});
