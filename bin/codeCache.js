// @ts-check
/**
 * Loads a CommonJS file through V8's code cache, the way Node 22's module.enableCompileCache()
 * does for every module (Node 20, which svcsim supports, has no such switch).
 *
 * The command is one CommonJS bundle (scripts/bundle.mjs). Compiling it is much of a short
 * command's start-up: V8 pre-parses the whole file, then compiles each function it runs. With
 * the code cache it deserializes the bytecode of every function the run that wrote the cache
 * had compiled, and parses nothing. v8-compile-cache, the library for this, cannot serve: it
 * caches only what V8 compiles eagerly (the data V8 produces at compile time, before anything
 * runs), keys the cache by a SHA-1 of the whole source, and keeps it in the shared temporary
 * directory.
 *
 * The cache lives next to the bundle (FILE.cache), where only who may change the bundle may
 * change it; it is written after a run, so it holds the functions that run compiled, and
 * rewritten when missing, stale or refused. Its first line names the Node version and
 * architecture, a CRC-32 of the bundle and one of the V8 data that follows; a cache for another
 * bundle or another Node, or whose data does not match its CRC, is not handed to V8 at all (V8
 * itself checks its version, its flags and the source's length, but in release builds not the
 * data: damaged data could be run). Then V8 compiles from source if anything else differs: a
 * cache can make loading faster, never different. Writing is best-effort (a read-only install
 * simply has no cache) and atomic (concurrent commands each rename a complete file into place).
 * The checks cost ~0.7 ms (loading zlib, two CRCs) of the ~15 ms the cache saves.
 */
"use strict";
const { readFileSync, renameSync, unlinkSync, writeFileSync } = require("node:fs");
const { createRequire, Module } = require("node:module");
const { dirname } = require("node:path");
const { Script } = require("node:vm");
const { crc32 } = require("node:zlib");

/**
 * @typedef {"none" | "stale" | "rejected" | "accepted"} CacheStatus
 *   none: no cache file; stale: one for another bundle or Node, or damaged; rejected: V8
 *   refused it; accepted: the bundle was loaded from it.
 */

/**
 * Runs the CommonJS module `file` (with its own `require`, `module`, `__filename` and
 * `__dirname`, as Node's loader would) and returns its exports.
 *
 * @param {string} file absolute path of the bundle
 * @param {string} [cacheFile] where its code cache is kept
 * @returns {{ exports: any, status: CacheStatus, save: () => boolean }} `save()` writes the cache
 *   unless it was accepted; call it once the command has run, so that the cache holds what the
 *   command compiled. It returns whether it wrote one.
 */
function loadWithCodeCache(file, cacheFile = `${file}.cache`) {
  const bytes = readFileSync(file);
  const source = bytes.toString("utf8");
  const identity = `svcsim code cache 2 ${process.version} ${process.arch} ${crc32(bytes)}`;

  /** @type {CacheStatus} */
  let status = "none";
  /** @type {Buffer | undefined} */
  let cachedData;
  try {
    const stored = readFileSync(cacheFile);
    const end = stored.indexOf(10);
    const [prefix, dataCrc] = splitLast(stored.toString("latin1", 0, Math.max(end, 0)));
    const data = stored.subarray(end + 1);
    if (end > 0 && prefix === identity && dataCrc === String(crc32(data))) cachedData = data;
    else status = "stale";
  } catch {
    // No cache yet (or unreadable): compile from source.
  }

  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  if (cachedData !== undefined) status = script.cachedDataRejected ? "rejected" : "accepted";
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));

  return {
    exports: module.exports,
    status,
    save() {
      if (status === "accepted") return false;
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        writeFileSync(temporary, Buffer.concat([Buffer.from(`${identity} ${crc32(data)}\n`, "latin1"), data]));
        renameSync(temporary, cacheFile);
        return true;
      } catch {
        try {
          unlinkSync(temporary);
        } catch {
          // Never written.
        }
        return false;
      }
    },
  };
}

/**
 * "a b c" → ["a b", "c"].
 * @param {string} line
 * @returns {[string, string]}
 */
function splitLast(line) {
  const space = line.lastIndexOf(" ");
  return [line.slice(0, space), line.slice(space + 1)];
}

module.exports = { loadWithCodeCache };
