/**
 * `npm run bench [-- FILTER...]`: runs every benchmark.js suite exported by bench/*.bench.ts
 * (each module exports `createSuites(): Benchmark.Suite[]`), or those whose file or suite name
 * contains one of the filters, and prints ops/s with the relative margin of error.
 */
import type Benchmark from "benchmark";
import { readdirSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface BenchModule {
  createSuites(): Benchmark.Suite[];
}

function runSuite(suite: Benchmark.Suite): Promise<void> {
  return new Promise((resolve, reject) => {
    suite
      .on("cycle", (event: Benchmark.Event) => {
        const b = event.target as unknown as Benchmark;
        const hz = b.hz ?? 0;
        const rme = b.stats?.rme ?? 0;
        const per = hz > 0 ? 1 / hz : 0;
        const perText = per >= 1 ? `${per.toFixed(3)} s` : per >= 1e-3 ? `${(per * 1e3).toFixed(3)} ms` : `${(per * 1e6).toFixed(3)} µs`;
        process.stdout.write(`  ${String(b.name).padEnd(58)} ${hz.toExponential(3).padStart(10)} ops/s ±${rme.toFixed(1)}%  (${perText}/op, ${b.stats?.sample.length ?? 0} samples)\n`);
      })
      .on("error", (event: Benchmark.Event) => reject((event.target as unknown as Benchmark).error))
      .on("complete", () => resolve())
      .run({ async: false });
  });
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here)
    .filter((f) => f.endsWith(".bench.js"))
    .sort();
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  process.stdout.write(`svcsim benchmarks — node ${process.version}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB\n`);
  for (const file of files) {
    const mod = (await import(pathToFileURL(`${here}/${file}`).href)) as BenchModule;
    for (const suite of mod.createSuites()) {
      const name = String((suite as unknown as { name?: string }).name ?? file);
      if (filters.length > 0 && !filters.some((f) => file.includes(f) || name.includes(f))) continue;
      process.stdout.write(`\n${name}\n`);
      await runSuite(suite);
    }
  }
}

await main();
