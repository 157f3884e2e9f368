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

// A larger young generation: the command allocates many short-lived objects (YAML documents,
// requests in flight), and the default 16 MiB semi-space makes V8 copy survivors over and
// over. Set before anything big is loaded.
v8.setFlagsFromString("--max-semi-space-size=64");
// ... and reached at once: a command that keeps what it allocates (a 7.6 MB scenario's YAML
// documents) otherwise copies them through a small young generation that doubles slowly
// (`svcsim rules` on 10k Services: ~5 % faster; neutral for the studies and mm1).
v8.setFlagsFromString("--semi-space-growth-factor=8");
// A larger inlining budget lets V8 inline the event engine into model handlers (6-8 % on mm1).
v8.setFlagsFromString("--max-inlined-bytecode-size-cumulative=1400");

const { main } = await import("../dist/bundle/cli.js");
process.exitCode = await main(process.argv.slice(2));
