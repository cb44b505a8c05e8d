/**
 * `snapset preflight` and `snapset create --dry-run` (a separate process) against the dev server and
 * a worker wired to the simulator: the checks run on the worker, and nothing in the lab changes.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Simulator } from '../src/sim/index.js';
import { simInput } from './helpers/inputs.js';
import { snapsetAt } from './helpers/processes.js';
import { useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';

/** Writes that change a lab: Nova actions, Glance writes, cordon/shutdown over SSH. */
function changesSeen(sim: Simulator): string[] {
  const writes = Object.entries(sim.cloud.counters())
    .filter(([ep, c]) => c.requests > 0 && /servers\.(createImage|stop|start|action)|images\.(delete|update|create)|tags\./.test(ep))
    .map(([ep]) => ep);
  return [
    ...writes,
    ...sim.controller
      .commands()
      .map((c) => c.command)
      .filter((c) => /cordon|debug|shutdown/.test(c)),
  ];
}

describe('snapset preflight / create --dry-run', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-preflight-');

  const snapset = (queue: string, ...args: string[]) => snapsetAt(t.env.address, ['--task-queue', queue, ...args]);

  test('a good input: every check listed as passed, exit 0, the lab untouched, no capture started', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const file = join(tmp.path, 'good.json');
      const stackName = `pf-${taskQueue}`;
      await writeFile(file, JSON.stringify(simInput(sim, { stackName })));
      const r = await snapset(taskQueue, 'preflight', '-f', file);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /✓ cloud auth: authenticated to sim/);
      assert.match(r.stdout, /✓ instance master0: server 7a5623ef-0855-4a8a-9bc3-56b6572f415d \(\S+\) ACTIVE/);
      assert.match(r.stdout, /✓ controller ssh: .* answered with the expected host key/);
      assert.match(r.stdout, /✓ oc: oc answers: 1 node\(s\)/);
      assert.match(r.stdout, /every check passed; nothing was changed/);
      const dry = await snapset(taskQueue, 'create', '--dry-run', '-f', file);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(changesSeen(sim), []);
      const captures = [];
      for await (const w of t.env.client.workflow.list({ query: `WorkflowType = 'createSnapset' AND StackName = '${stackName}'` })) captures.push(w.workflowId);
      assert.deepEqual(captures, [], 'no createSnapset was started');
    });
  });

  test('a bad UUID: the failed check names the instance and what to do, exit 1, nothing changed', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const input = simInput(sim, { stackName: `pf-bad-${taskQueue}` });
      input.snapsetData.instances.master0 = { ...input.snapsetData.instances.master0!, uuid: '00000000-0000-4000-8000-00000000beef' };
      const file = join(tmp.path, 'bad.json');
      await writeFile(file, JSON.stringify(input));
      const r = await snapset(taskQueue, 'create', '--dry-run', '-f', file);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /✗ instance master0: no server 00000000-0000-4000-8000-00000000beef in Nova/);
      assert.match(r.stdout, /→ check snapsetData\.instances\.master0\.uuid/);
      assert.match(r.stderr, /preflight FAILED: preflight failed, nothing was changed/);
      assert.deepEqual(changesSeen(sim), []);
    });
  });
});
