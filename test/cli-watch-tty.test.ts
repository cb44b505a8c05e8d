/**
 * `snapset watch` on a terminal: a live view redrawn in place (phase, elapsed, the certificate-wait
 * countdown), run under a pseudo-terminal made by util-linux `script`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simInput } from './helpers/inputs.js';
import { repoRoot } from './helpers/paths.js';
import { startProc } from './helpers/processes.js';
import { useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('snapset watch on a terminal', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-tty-');

  test('live view with the countdown of the certificate wait, redrawn in place', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const stackName = `tty-${taskQueue}`;
      const file = join(tmp.path, 'tty.json');
      // Installed 25 h minus 12 s ago: the wait is there for a few redraws, then the timer fires.
      const clusterCreatedAt = new Date(Date.now() - 25 * 3_600_000 + 12_000).toISOString();
      await writeFile(file, JSON.stringify(simInput(sim, { stackName, prepare: { clusterCreatedAt } })));
      const cmd = [process.execPath, join(repoRoot, 'bin', 'snapset.js'), '--task-queue', taskQueue, 'create', '-f', file, '--watch'].map(shellQuote).join(' ');
      const p = startProc(['-qfec', cmd, '/dev/null'], { command: 'script', env: { TEMPORAL_ADDRESS: t.env.address, COLUMNS: '200' } });
      const code = await p.exited;
      const out = p.output;
      assert.equal(code, 0, out);
      assert.match(out, /\x1b\[\d+F\x1b\[J/, 'the view is redrawn in place');
      assert.match(out, new RegExp(`snapset-${stackName} {2}RUNNING {2}phase waiting-cert-rotation {2}elapsed \\d+s`));
      const countdown = [...out.matchAll(/certificate wait: wakes \S+ \(in (\d+)s\)/g)].map((m) => Number(m[1]));
      assert.ok(new Set(countdown).size >= 2, `the countdown moves: ${countdown.join(',')}`);
      const final = out.slice(out.lastIndexOf(`snapset-${stackName}  COMPLETED`));
      assert.match(final, /^snapset-\S+ {2}COMPLETED {2}phase completed/);
      for (const name of ['controller', 'master0'])
        assert.match(final, new RegExp(`^ {2}${name} +\\S+ +[0-9a-f-]{36}\\s*$`, 'm'), `${name}'s image in the view`);
      assert.doesNotMatch(out, /^\d{4}-\d\d-\d\dT\S+Z {2}/m, 'no log lines on a terminal');
      assert.match(out, /"snapId": "[A-Za-z0-9_-]{8}"/);
    });
  });
});
