#!/usr/bin/env node
// `npm test`: build, install the toolchain when missing, start ONE Temporal dev server shared by
// every test file (each file runs in its own process under node --test), run the tests, stop it.
// Arguments after `--` select test files (e.g. `npm test -- dist/test/input.test.js`).
import { prepareTestEnv, runNodeTest, step, testFiles } from './test-env.mjs';

const { env, stop } = await prepareTestEnv();
const code = await runNodeTest(testFiles(process.argv.slice(2)), env);
await stop();
step(`done, exit ${code}`);
process.exit(code);
