#!/usr/bin/env node
// The package's command. The TypeScript sources are compiled to dist/ by `npm install`
// (the prepare script), so the command starts without a TypeScript loader.
import { main } from "../dist/experiments/cli.js";

process.exitCode = await main(process.argv.slice(2));
