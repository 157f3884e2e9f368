#!/usr/bin/env node
// The package's command. The TypeScript sources are compiled to dist/ by `npm install`
// (the prepare script), so the command starts without a TypeScript loader; the command itself
// runs from a bundle of them (scripts/bundle.mjs), which loads in a fraction of the time.
import v8 from "node:v8";

// A reader that stops early (`svcsim rules ... | head`) is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// No young-generation flags here: V8 sizes a heap when its isolate starts, so
// --max-semi-space-size set now would not reach this thread's heap (measured: `svcsim rules`
// on 10k Services scavenges 46 times with or without it), and the worker threads of a pool,
// created later, showed no gain from it.
// A larger inlining budget lets V8 inline the event engine into model handlers (6-8 % on mm1).
v8.setFlagsFromString("--max-inlined-bytecode-size-cumulative=1400");

const { main } = await import("../dist/bundle/cli.js");
process.exitCode = await main(process.argv.slice(2));
