#!/usr/bin/env node
// The `snapset` command (npx snapset ...). Runs the compiled CLI: `npm run build` first.
import { runCli } from '../dist/src/cli/index.js';

process.exit(await runCli(process.argv));
