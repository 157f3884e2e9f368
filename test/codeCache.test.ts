import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./cli.js";

/**
 * A CommonJS module with a function big enough that its bytecode is worth caching, and a string
 * that is not ASCII (read as UTF-8; helper.cjs, ASCII, takes the other path).
 */
function moduleSource(answer: number): string {
  const body = Array.from({ length: 200 }, (_, i) => `  acc = (acc * 31 + ${i}) % 1000003;`).join("\n");
  return [
    `const { basename } = require("node:path");`,
    `const helper = require("./helper.cjs");`,
    `const again = require("./helper.cjs");`,
    `function work(n) {\n  let acc = n;\n${body}\n  return acc;\n}`,
    `module.exports = { answer: ${answer}, file: basename(__filename), dir: __dirname, helper: helper.name, once: helper === again, greek: "γ·µ", work };`,
  ].join("\n");
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function setUp(answer = 42): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "svcsim-code-cache-"));
  dirs.push(dir);
  writeFileSync(join(dir, "helper.cjs"), "module.exports = { name: 'helped' };\n");
  const file = join(dir, "bundle.cjs");
  writeFileSync(file, moduleSource(answer));
  return { dir, file };
}

interface Loaded {
  status: string;
  helperStatus: string;
  once: boolean;
  greek: string;
  answer: number;
  file: string;
  dir: string;
  helper: string;
  work: number | null;
  saved: string[];
}

/**
 * Loads `file` with bin/codeCache.js in a fresh Node process, as the command does: within one
 * process V8 would answer a second compile of the same script from its own in-memory cache,
 * without looking at the cached data at all. `work` runs the module's function before saving.
 */
function load(file: string, options: { cacheFile?: string; work?: boolean } = {}): Loaded {
  const script = [
    `const { createCodeCache } = require(${JSON.stringify(join(repoRoot, "bin", "codeCache.js"))});`,
    `const cache = createCodeCache();`,
    `const e = cache.load(${JSON.stringify(file)}${options.cacheFile ? `, ${JSON.stringify(options.cacheFile)}` : ""});`,
    `const { answer, file, dir, helper, once, greek } = e;`,
    `const work = ${options.work === false ? "null" : "e.work(7)"};`,
    `const status = cache.status(${JSON.stringify(file)});`,
    `const helperStatus = cache.status(require("node:path").join(dir, "helper.cjs"));`,
    `console.log(JSON.stringify({ status, helperStatus, answer, file, dir, helper, once, greek, work, saved: cache.save() }));`,
  ].join("\n");
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Loaded;
}

/** The cache file with its V8 data replaced by `data`, its CRC line made to match. */
function withData(cacheFile: string, data: Buffer): Buffer {
  const cache = readFileSync(cacheFile);
  const line = cache.toString("latin1", 0, cache.indexOf(10));
  return Buffer.concat([Buffer.from(`${line.slice(0, line.lastIndexOf(" "))} ${crc32(data)}\n`, "latin1"), data]);
}

function dataOf(cacheFile: string): Buffer {
  const cache = readFileSync(cacheFile);
  return Buffer.from(cache.subarray(cache.indexOf(10) + 1));
}

describe("createCodeCache (bin/codeCache.js)", () => {
  it("runs a bundle as Node would, writes the caches after the run and loads from them next time", () => {
    const { dir, file } = setUp();
    const helperFile = join(dir, "helper.cjs");
    const first = load(file);
    expect(first).toMatchObject({ status: "none", helperStatus: "none", answer: 42, file: "bundle.cjs", dir, helper: "helped", once: true, greek: "γ·µ" });
    // The bundle it requires went through the cache too.
    expect(first.saved.sort()).toEqual([`${file}.cache`, `${helperFile}.cache`]);
    const cache = readFileSync(`${file}.cache`);
    expect(cache.subarray(0, 20).toString()).toBe("svcsim code cache 2 ");

    const second = load(file);
    expect(second).toMatchObject({ status: "accepted", helperStatus: "accepted", answer: 42, helper: "helped", once: true, greek: "γ·µ", work: first.work, saved: [] });
    expect(readFileSync(`${file}.cache`).equals(cache)).toBe(true);
    // Written through temporary files, renamed into place: none is left.
    expect(readdirSync(dir).sort()).toEqual(["bundle.cjs", "bundle.cjs.cache", "helper.cjs", "helper.cjs.cache"]);
  });

  it("holds the functions the run compiled, not only what V8 compiles eagerly", () => {
    const { file } = setUp();
    load(file, { cacheFile: `${file}.idle`, work: false });
    load(file, { cacheFile: `${file}.busy`, work: true });
    expect(statSync(`${file}.busy`).size).toBeGreaterThan(statSync(`${file}.idle`).size + 500);
  });

  it("does not hand V8 a cache made for another build of the bundle", () => {
    const { file } = setUp(42);
    load(file);
    // The same length, another answer: V8 alone (which checks the source's length) would take
    // the old cache for it.
    writeFileSync(file, moduleSource(43));
    expect(load(file)).toMatchObject({ status: "stale", helperStatus: "accepted", answer: 43, saved: [`${file}.cache`] });
    expect(load(file)).toMatchObject({ status: "accepted", answer: 43 });
  });

  it("does not hand V8 damaged data (V8 checks no checksum in release builds)", () => {
    const { file } = setUp();
    const { work } = load(file);
    const damaged = readFileSync(`${file}.cache`);
    damaged[damaged.length - 100] ^= 0x01;
    writeFileSync(`${file}.cache`, damaged);
    expect(load(file)).toMatchObject({ status: "stale", work, saved: [`${file}.cache`] });
    expect(load(file)).toMatchObject({ status: "accepted", work });
  });

  it("compiles from source when V8 refuses the cache, and replaces it", () => {
    const { file } = setUp();
    const { work } = load(file);
    // V8's own header leads its data, a magic number first: spoil it, with a CRC to match, so
    // that only V8's check can catch it.
    const data = dataOf(`${file}.cache`);
    data[0] ^= 0xff;
    writeFileSync(`${file}.cache`, withData(`${file}.cache`, data));
    expect(load(file)).toMatchObject({ status: "rejected", work, saved: [`${file}.cache`] });
    expect(load(file)).toMatchObject({ status: "accepted", work });
  });

  it("is best-effort: a cache it cannot write is simply not written", () => {
    const { dir, file } = setUp();
    expect(load(file, { cacheFile: join(dir, "missing", "bundle.cjs.cache") })).toMatchObject({ answer: 42, saved: [join(dir, "helper.cjs.cache")] });
    expect(existsSync(join(dir, "missing"))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["bundle.cjs", "helper.cjs", "helper.cjs.cache"]);
  });
});
