// @ts-check
/**
 * Loads CommonJS bundles through V8's code cache, the way Node 22's module.enableCompileCache()
 * does for every module (Node 20, which svcsim supports, has no such switch).
 *
 * The command is one CommonJS bundle, and the large libraries some commands need (vega for the
 * charts, zod and js-yaml for scenario files) are bundles of their own (scripts/bundle.mjs).
 * Compiling them is much of a short command's run: V8 pre-parses the whole file, then compiles
 * each function it runs. From the code cache it deserializes the bytecode of every function the
 * run that wrote the cache had compiled, and parses nothing. v8-compile-cache, the library for
 * this, cannot serve: it caches only what V8 compiles eagerly (the data V8 produces at compile
 * time, before anything runs), keys the cache by a SHA-1 of the whole source, and keeps it in
 * the shared temporary directory.
 *
 * A bundle's cache lives next to it (FILE.cache), where only who may change the bundle may
 * change it; it is written after a run, so it holds the functions that run compiled, and
 * rewritten when missing, stale or refused. Its first line names the Node version and
 * architecture, a CRC-32 of the bundle and one of the V8 data that follows; a cache for another
 * bundle or another Node, or whose data does not match its CRC, is not handed to V8 at all (V8
 * itself checks its version, its flags and the source's length, but in release builds not the
 * data: damaged data could be run). Then V8 compiles from source if anything else differs: a
 * cache can make loading faster, never different. Writing is best-effort (a read-only install
 * simply has no cache) and atomic (concurrent commands each rename a complete file into place).
 * The checks cost ~0.7 ms (loading zlib, two CRCs) of the ~15 ms the cache saves the command.
 */
"use strict";
const { isAscii } = require("node:buffer");
const { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } = require("node:fs");
const { createRequire, Module } = require("node:module");
const { dirname, resolve } = require("node:path");
const { Script } = require("node:vm");
const { crc32 } = require("node:zlib");

/**
 * @typedef {"none" | "stale" | "rejected" | "accepted"} CacheStatus
 *   none: no cache file; stale: one for another bundle or Node, or damaged; rejected: V8
 *   refused it; accepted: the bundle was loaded from it.
 */

/**
 * @typedef {object} Loaded
 * @property {unknown} exports
 * @property {CacheStatus} status
 * @property {string} cacheFile
 * @property {string} identity the cache's first line but for the data's CRC
 * @property {Script} script
 */

/**
 * A loader of CommonJS bundles through their code caches. A bundle it loads runs as under
 * Node's loader (its own `require`, `module`, `__filename`, `__dirname`), except that what it
 * requires by a relative path ending in .cjs (another bundle) is loaded by this loader too,
 * once. Nothing is written until save().
 */
function createCodeCache() {
  /** @type {Map<string, Loaded>} */
  const loaded = new Map();

  /**
   * @param {string} file absolute path of a bundle
   * @param {string} [cacheFile] where its code cache is kept
   * @returns {Loaded}
   */
  function load(file, cacheFile = `${file}.cache`) {
    const known = loaded.get(file);
    if (known !== undefined) return known;
    const bytes = readFileSync(file);
    // The build writes ASCII (scripts/bundle.mjs): then the bytes are the text, and V8 holds it
    // one byte a character. Any other file is read as UTF-8.
    const source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8");
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
    /** @type {Loaded} */
    const entry = { exports: module.exports, status, cacheFile, identity, script };
    loaded.set(file, entry);
    script.runInThisContext()(module.exports, requireFrom(file), module, file, dirname(file));
    entry.exports = module.exports;
    return entry;
  }

  /**
   * The `require` of a bundle: other bundles through this loader, the rest as Node would.
   * @param {string} file
   */
  function requireFrom(file) {
    const nodeRequire = createRequire(file);
    /** @param {string} id */
    const bundleRequire = (id) => (/^\.\.?\/.*\.cjs$/.test(id) ? load(resolve(dirname(file), id)).exports : nodeRequire(id));
    return Object.assign(bundleRequire, { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: nodeRequire.main });
  }

  return {
    /**
     * Loads a bundle (once) and returns its exports.
     * @param {string} file absolute path
     * @param {string} [cacheFile] where its code cache is kept (FILE.cache)
     */
    load: (file, cacheFile) => load(file, cacheFile).exports,

    /**
     * How a loaded bundle's cache fared.
     * @param {string} file
     * @returns {CacheStatus | undefined}
     */
    status: (file) => loaded.get(file)?.status,

    /**
     * Writes the cache of every bundle loaded whose cache was not accepted; call it once the
     * command has run, so that the caches hold what the command compiled. Returns the files
     * written.
     * @returns {string[]}
     */
    save() {
      const written = [];
      for (const { status, cacheFile, identity, script } of loaded.values()) {
        if (status !== "accepted" && write(cacheFile, identity, script)) written.push(cacheFile);
      }
      return written;
    },
  };
}

/**
 * @param {string} cacheFile
 * @param {string} identity
 * @param {Script} script
 * @returns {boolean} whether it was written
 */
function write(cacheFile, identity, script) {
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  let fd;
  try {
    // Opened first: where the cache cannot be written (a read-only install), V8 is not asked to
    // serialize it for nothing.
    fd = openSync(temporary, "w");
    const data = script.createCachedData();
    const bytes = Buffer.concat([Buffer.from(`${identity} ${crc32(data)}\n`, "latin1"), data]);
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, cacheFile);
    return true;
  } catch {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // Never created.
    }
    return false;
  }
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

module.exports = { createCodeCache };
