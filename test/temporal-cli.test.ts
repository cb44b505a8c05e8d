/**
 * Engineers drive createSnapset with the real `temporal` CLI binary (DESIGN §4): start it from an
 * input file, read its progress with a query, end the wait with the skipCertWait Update.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { SnapsetProgress, SnapsetResult } from '../src/shared/workflow-api.js';
import { sampleInput, simInput } from './helpers/inputs.js';
import { toolchain, useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const exec = promisify(execFile);

describe('the temporal CLI', () => {
  const t = useTemporal('dev-server', { worker: true });
  const { taskQueue } = t;
  const tmp = useTempDir('snapset-temporal-cli-');
  let cli: string;

  const temporal = async (...args: string[]) => {
    const { stdout } = await exec(cli, [...args, '--address', t.env.address, '--namespace', t.env.namespace ?? 'default'], { timeout: 60_000 });
    return stdout;
  };

  before(async () => {
    cli = (await toolchain()).temporalCli;
  });

  test('temporal workflow start --type createSnapset --input-file, then query and update', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const workflowId = `snapset-cli-${taskQueue}`;
      const inputFile = join(tmp.path, 'snapset.json');
      await writeFile(inputFile, JSON.stringify(simInput(sim, { stackName: `cli-${taskQueue}`, prepare: { clusterCreatedAt: new Date().toISOString() } })));

      const started = JSON.parse(
        await temporal(
          'workflow',
          'start',
          '--type',
          'createSnapset',
          '--task-queue',
          taskQueue,
          '--workflow-id',
          workflowId,
          '--input-file',
          inputFile,
          '-o',
          'json',
        ),
      ) as { workflowId: string; runId: string };
      assert.equal(started.workflowId, workflowId);
      assert.ok(started.runId);

      let progress: SnapsetProgress | undefined;
      await waitFor(
        'the run to wait for the certificates (temporal workflow query)',
        async () => {
          const out = JSON.parse(await temporal('workflow', 'query', '--workflow-id', workflowId, '--name', 'progress', '-o', 'json')) as {
            queryResult: SnapsetProgress[];
          };
          progress = out.queryResult[0];
          return progress?.phase === 'waiting-cert-rotation';
        },
        { intervalMs: 200, retryErrors: true, seen: () => progress?.phase },
      );
      assert.ok(progress?.certWait?.wakeAt, 'progress shows the wake-up time');

      await temporal(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        workflowId,
        '--name',
        'skipCertWait',
        '--input',
        JSON.stringify({ reason: 'skipped from the temporal CLI in a test' }),
      );
      const result = JSON.parse(await temporal('workflow', 'result', '--workflow-id', workflowId, '-o', 'json')) as { status: string; result: SnapsetResult };
      assert.equal(result.status, 'COMPLETED');
      assert.equal(result.result.certWait?.skipped?.reason, 'skipped from the temporal CLI in a test');
      assert.equal(Object.keys(result.result.images).length, 2);
    });
  });

  test('a bad input file fails the workflow with the field named', async () => {
    const workflowId = `snapset-cli-bad-${taskQueue}`;
    const inputFile = join(tmp.path, 'bad.json');
    await writeFile(inputFile, JSON.stringify({ ...sampleInput(), snapsetData: { instances: {} } }));
    await temporal('workflow', 'start', '--type', 'createSnapset', '--task-queue', taskQueue, '--workflow-id', workflowId, '--input-file', inputFile);
    const out = JSON.parse(await temporal('workflow', 'result', '--workflow-id', workflowId, '-o', 'json').catch((e: { stdout: string }) => e.stdout)) as {
      closeEvent: {
        eventType: string;
        workflowExecutionFailedEventAttributes?: { failure: { message: string; applicationFailureInfo?: { type: string; nonRetryable: boolean } } };
      };
    };
    assert.equal(out.closeEvent.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    const failure = out.closeEvent.workflowExecutionFailedEventAttributes!.failure;
    assert.equal(failure.applicationFailureInfo?.type, 'ValidationError');
    assert.equal(failure.applicationFailureInfo?.nonRetryable, true);
    assert.match(failure.message, /snapsetData\.instances: expected at least one instance/);
  });
});
