#!/usr/bin/env node
// The cdp command. Runs the compiled CLI; `npm run build` (or npm start / npm ci) produces it.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const entry = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('cdp is not built yet: run `npm run build` in ' + join(__dirname, '..') + '\n');
  process.exit(1);
}
require(entry).main();
