/**
 * The `snapset` CLI as engineers run it (a separate process) against the dev server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { simInput } from './helpers/inputs.js';
import { fixtures, repoRoot } from './helpers/paths.js';
import { useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const execFileP = promisify(execFile);

describe('snapset CLI', () => {
  const t = useTemporal('dev-server', { worker: true });
  const { taskQueue } = t;
  const tmp = useTempDir('snapset-cli-');

  const snapset = (...args: string[]) => run_(args);
  const run_ = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [join(repoRoot, 'bin', 'snapset.js'), ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: t.env.address, SNAPSET_TASK_QUEUE: taskQueue },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  test('--help lists the commands; usage errors exit 2', async () => {
    const r = await snapset('--help');
    assert.equal(r.code, 0);
    for (const c of ['create', 'watch', 'show', 'runs', 'list', 'latest', 'delete', 'prune', 'skip-wait', 'cancel'])
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
    const bad = await snapset('runs', '--limit', 'x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit <n>' argument 'x' is invalid/);
  });

  test('bad input is refused with the field named, exit 2, before contacting anything', async () => {
    const r = await snapset('--address', '127.0.0.1:1', 'create', '-f', fixtures('inputs', 'bad', '05-uuid-not-hex.json'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /snapsetData\.instances\.master0\.uuid: expected a server UUID/);
    const both = await snapset('create');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --file or --from-stack-outputs/);
  });

  test('create, refuse a second run, show, list, skip-wait, watch to the result', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue: simQueue }) => {
      const stackName = `cli-${simQueue}`;
      const file = join(tmp.path, 'snapset.yaml');
      await writeFile(file, JSON.stringify(simInput(sim, { stackName, prepare: { clusterCreatedAt: new Date().toISOString() } })));
      const snapset = (...args: string[]) => run_(['--task-queue', simQueue, ...args]);

      const created = await snapset('create', '-f', file);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`started snapset-${stackName} for stack ${stackName} \\(2 VMs\\)`));

      const again = await snapset('create', '-f', file);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already in progress/);

      let shown: { status: string; progress?: { phase: string; certWait?: { wakeAt: string } } } | undefined;
      await waitFor(
        'snapset show to report the certificate wait',
        async () => {
          shown = JSON.parse((await snapset('show', '--json', stackName)).stdout) as typeof shown;
          return shown?.progress?.phase === 'waiting-cert-rotation' && shown.progress.certWait;
        },
        { intervalMs: 200, seen: () => shown },
      );
      assert.equal(shown?.status, 'RUNNING');
      assert.ok(shown?.progress?.certWait?.wakeAt);

      const listed = await snapset('runs', '--stack', stackName);
      assert.match(listed.stdout, /^WORKFLOW_ID +STATUS +PHASE +STARTED +CLOSED$/m);
      assert.match(listed.stdout, new RegExp(`^snapset-${stackName} +RUNNING +waiting-cert-rotation `, 'm'));

      const tooShort = await snapset('skip-wait', stackName, '--reason', 'x');
      assert.equal(tooShort.code, 2);
      assert.match(tooShort.stderr, /reason: required/);

      const skipped = await snapset('skip-wait', stackName, '--reason', 'certificates rotated by hand in this lab');
      assert.equal(skipped.code, 0, skipped.stderr);

      const watched = await snapset('watch', stackName);
      assert.equal(watched.code, 0, watched.stderr);
      const result = JSON.parse(watched.stdout.slice(watched.stdout.indexOf('{'))) as { stackName: string; snapId: string; images: Record<string, unknown> };
      assert.equal(result.stackName, stackName);
      assert.match(result.snapId, /^[A-Za-z0-9_-]{8}$/);
      assert.deepEqual(Object.keys(result.images).sort(), ['controller', 'master0']);
    });
  });

  test('--from-stack-outputs takes the stack name from the file name and drops other outputs', async () => {
    // No worker serves the run's controller (192.168.122.10): it is cancelled while it waits.
    const outputs = join(tmp.path, `so-${taskQueue}-outputs.yaml`);
    const { readFile } = await import('node:fs/promises');
    await writeFile(outputs, await readFile(fixtures('inputs', 'hs-sno-1-outputs.yaml'), 'utf8'));
    const r = await snapset('create', '--from-stack-outputs', outputs, '--cluster-created-at', new Date().toISOString());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`started snapset-so-${taskQueue} for stack so-${taskQueue} \\(2 VMs\\)`));
    const handle = t.env.client.workflow.getHandle(`snapset-so-${taskQueue}`);
    const history = await handle.fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(input).sort(), ['controller_ansible_host', 'prepare', 'snapset_data', 'stack_name']);
    assert.ok(!JSON.stringify(input).includes('pullSecret'), 'pull secret not in history');
    const cancelled = await snapset('cancel', `so-${taskQueue}`);
    assert.equal(cancelled.code, 0);
  });
});
