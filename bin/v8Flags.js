// The V8 flags the command sets before it loads its bundle (bin/svcsim.js); bench/mm1.ts sets
// them too, so that its in-process runs compile as the command's do.
// A larger inlining budget lets V8 inline the event engine into model handlers (6-8 % on mm1).
"use strict";
module.exports = { COMMAND_V8_FLAGS: "--max-inlined-bytecode-size-cumulative=1400" };
