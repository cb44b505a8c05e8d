#!/usr/bin/env node
// `npm run test:repeat -- N [files]`: runs the test files (default: all) N times against one shared
// dev server and reports every failure of every round — a test that fails once in N is a defect to
// fix, not a result to retry. Exit 1 when any round failed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareTestEnv, root, runNodeTest, step, testFiles } from './test-env.mjs';

const [countArg, ...selected] = process.argv.slice(2);
const rounds = Number(countArg);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`usage: npm run test:repeat -- N [dist/test/FILE.test.js ...]  (N: how many times, a whole number ≥ 1; got ${JSON.stringify(countArg)})`);
  process.exit(2);
}

const { env, stop } = await prepareTestEnv();
const files = testFiles(selected);
const dir = mkdtempSync(join(tmpdir(), 'snapset-test-repeat-'));
const report = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const out = join(dir, `round-${round}.jsonl`);
    const started = Date.now();
    const code = await runNodeTest(files, env, [
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/failures-reporter.mjs')}`,
      `--test-reporter-destination=${out}`,
    ]);
    const failed = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    report.push({ round, code, seconds: Math.round((Date.now() - started) / 1000), failed });
    step(`round ${round}/${rounds}: exit ${code}, ${failed.length} failed`);
  }
} finally {
  await stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n== test:repeat: ${rounds} round(s) of ${files.length} file(s) ==`);
for (const r of report) {
  console.log(`round ${r.round}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds} s`);
  for (const f of r.failed)
    console.log(`  ✗ ${f.file ?? '?'} › ${f.name}${f.failureType ? ` [${f.failureType}]` : ''}\n    ${f.message.replaceAll('\n', '\n    ')}`);
}
const bad = report.filter((r) => r.code !== 0).length;
console.log(bad === 0 ? `all ${rounds} round(s) passed` : `${bad} of ${rounds} round(s) failed`);
process.exit(bad === 0 ? 0 : 1);
