/**
 * The SnapSet metrics on the worker's Prometheus endpoint (docs/operations.md), scraped from the real
 * worker (`node dist/src/worker.js --metrics`, as `npm run worker` runs it) after runs of simulated
 * labs: one completed with retention pruning an older set, one failed (the cloud kills a snapshot,
 * it is taken again, killed again; cleanup deletes the set), one whose certificate wait is ended early and then completes. The worker
 * keeps two workflows in its cache, so histories are replayed again and again: a count that grew on
 * replay would show here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../src/dev/toolchain.js';
import { startTourRuns, tourScenario } from '../src/dev/web-ui-tour.js';
import { SNAPSET_METRICS } from '../src/shared/metrics.js';
import { progressQuery, skipCertWaitUpdate } from '../src/shared/workflow-api.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { repoRoot } from './helpers/paths.js';
import { startProc, type Proc } from './helpers/processes.js';
import { seedImages } from './helpers/snapset-store.js';
import { uniqueTaskQueue, useTemporal } from './helpers/temporal.js';

/** The value of one Prometheus sample whose labels include `labels`; undefined when there is none. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of body.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

describe('SnapSet metrics on the worker’s Prometheus endpoint', () => {
  const t = useTemporal('dev-server');
  const tag = randomUUID().slice(0, 6);
  const { stacks, ...scenario } = tourScenario(`m${tag}`);
  const taskQueue = uniqueTaskQueue('metrics');
  let sim: Simulator;
  let worker: Proc;
  let metricsUrl: string;

  before(async () => {
    // An older complete set of the completed lab's stack, for its retention (keep 1) to prune.
    const older = seedImages([{ snapId: `old${tag.slice(0, 5)}`, stack: stacks.completed, ago: 2 * 24 * 3_600_000 }]);
    sim = await startSimulator({ ...scenario, cloud: { ...scenario.cloud, images: older } });
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = startProc([join(repoRoot, 'dist', 'src', 'worker.js'), '--metrics', `127.0.0.1:${port}`], {
      env: {
        TEMPORAL_ADDRESS: t.env.address,
        SNAPSET_TASK_QUEUE: taskQueue,
        OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath,
        OS_CLOUD: sim.cloud.cloudName,
        // Two workflows in the sticky cache (the SDK's least): the runs evict each other and are replayed.
        SNAPSET_MAX_CACHED_WORKFLOWS: '2',
        SNAPSET_MAX_WORKFLOW_TASKS: '2',
      },
    });
    await worker.waitFor(/hotstack-snapset worker: .*metrics http/, 240_000);
  });

  after(async () => {
    await worker?.stop('SIGINT');
    await sim?.close();
  });

  test('runs started / completed / failed by workflow type, capture and cert-wait durations, images made, image retries, cleanup and prune deletions', async () => {
    const client = t.env.client;
    // The tour's three labs: the cert-wait run gets its wait ended early; the completed one prunes with keep 1.
    const started = Date.now();
    const { waiting, failed, completed } = await startTourRuns(client, sim, taskQueue, stacks);
    const waitingRun = client.workflow.getHandle(waiting.workflowId);
    await waitingRun.executeUpdate(skipCertWaitUpdate, { args: [{ reason: 'metrics test: the wait is measured, not waited out' }] });
    await waitingRun.result();
    assert.equal(completed.result.retention, undefined, 'the tour’s completed run has no retention');

    // A fourth run, on the completed lab again after a reset: retention keep 1 prunes its older sets.
    sim.resetLab(stacks.completed);
    const pruning = await client.workflow.start('createSnapset', {
      taskQueue,
      workflowId: `snapset-${stacks.completed}-again`,
      args: [
        {
          ...sim.snapsetInput(stacks.completed),
          prepare: { stablePeriod: '60s', clusterCreatedAt: '2026-01-01T00:00:00Z' },
          capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms' },
          retention: { keep: 1 },
        },
      ],
    });
    const pruned = await pruning.result();
    assert.equal(pruned.retention?.deleted.length, 2, `the seeded set and the tour's set are pruned: ${JSON.stringify(pruned.retention)}`);

    // Replays for certain, not by the timing of the runs above: a closed run answers a query only by
    // replaying its history on the worker, which then drops it from the cache (a forced eviction).
    for (const id of [waiting.workflowId, failed.workflowId, pruning.workflowId]) await client.workflow.getHandle(id).query(progressQuery);

    // The workflow metric sink runs beside the completion: wait until the last run's count is there.
    let body = '';
    const deadline = Date.now() + 60_000;
    for (;;) {
      body = await (await fetch(metricsUrl)).text();
      if (
        (sample(body, SNAPSET_METRICS.runsCompleted, { workflow_type: 'pruneSnapsets' }) ?? 0) >= 1 &&
        (sample(body, SNAPSET_METRICS.runsCompleted, { workflow_type: 'createSnapset' }) ?? 0) >= 3
      )
        break;
      if (Date.now() > deadline)
        assert.fail(
          `the runs' metrics never appeared:\n${body
            .split('\n')
            .filter((l) => l.startsWith('snapset_'))
            .join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    const snapset = body
      .split('\n')
      .filter((l) => l.startsWith('snapset_'))
      .join('\n');
    const is = (name: string, labels: Record<string, string>, want: number | undefined) =>
      assert.equal(sample(body, name, labels), want, `${name}${JSON.stringify(labels)} in:\n${snapset}`);
    // `namespace` and `taskQueue` come from the SDK's worker (its spelling), `workflow_type` from the interceptor (the SDK core's spelling).
    const create = { workflow_type: 'createSnapset', taskQueue };

    // Replays happened (two cached workflows for four runs), and counted nothing twice.
    assert.ok((sample(body, 'temporal_sticky_cache_total_forced_eviction') ?? 0) > 0, 'the sticky cache evicted workflows: their histories were replayed');
    is(SNAPSET_METRICS.runsStarted, create, 4);
    is(SNAPSET_METRICS.runsCompleted, create, 3);
    is(SNAPSET_METRICS.runsFailed, { ...create, failure_type: failed.failure.type }, 1);
    is(SNAPSET_METRICS.runsCancelled, create, undefined);
    // The stack locks hold their stacks without a worker ever running them (src/stack-lock.ts).
    is(SNAPSET_METRICS.runsStarted, { workflow_type: 'stackLock' }, undefined);
    is(SNAPSET_METRICS.runsCompleted, { workflow_type: 'pruneSnapsets' }, 1);
    is(`${SNAPSET_METRICS.runDuration}_count`, { ...create, outcome: 'completed' }, 3);
    is(`${SNAPSET_METRICS.runDuration}_count`, { ...create, outcome: 'failed' }, 1);

    is(`${SNAPSET_METRICS.captureDuration}_count`, { ...create, outcome: 'completed' }, 3);
    is(`${SNAPSET_METRICS.captureDuration}_count`, { ...create, outcome: 'failed' }, 1);
    // Seconds, with the project's buckets (a 1 s bucket exists; the SDK's default buckets start at 50).
    assert.ok(sample(body, `${SNAPSET_METRICS.captureDuration}_bucket`, { ...create, outcome: 'completed', le: '1' }) !== undefined, snapset);
    is(SNAPSET_METRICS.imagesCreated, { ...create, kind: 'image' }, 12);
    is(SNAPSET_METRICS.imageRetries, { ...create, reason: 'killed' }, 1);
    is(SNAPSET_METRICS.imageRetries, create, 1);

    is(`${SNAPSET_METRICS.certWaitDuration}_count`, { ...create, ended: 'early' }, 1);
    is(`${SNAPSET_METRICS.certWaitDuration}_count`, { ...create, ended: 'fired' }, undefined);
    const waited = sample(body, `${SNAPSET_METRICS.certWaitDuration}_sum`, create)!;
    assert.ok(waited > 0 && waited < (Date.now() - started) / 1000, `the wait lasted until it was skipped, not 25 h: ${waited} s`);

    is(SNAPSET_METRICS.cleanupDeletedImages, create, failed.failure.cleanup!.deleted.length);
    assert.equal(failed.failure.cleanup!.deleted.length, 4);
    is(SNAPSET_METRICS.cleanupLeftImages, create, undefined);
    is(SNAPSET_METRICS.pruneDeletedSets, { workflow_type: 'pruneSnapsets' }, 2);
    is(SNAPSET_METRICS.pruneDeletedImages, { workflow_type: 'pruneSnapsets' }, 2 + 4);
  });
});
