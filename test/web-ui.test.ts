/**
 * What the on-call engineer reads in the Temporal Web UI (DESIGN §4, §8), in a real browser: Debian's
 * Chromium driven by playwright-core, on the dev server's own Web UI, for three runs of simulated
 * labs — waiting for the certificate rotation, failed (a killed snapshot), completed. Skipped, with
 * the reason, when no Chromium is installed (the toolchain installs it when it can).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { createActivities } from '../src/activities/index.js';
import { startDevServer, type DevServer } from '../src/dev/dev-server.js';
import { findChromium, freePort } from '../src/dev/toolchain.js';
import {
  currentDetails,
  eventsWithMetadata,
  LOCAL_STEP_STATE,
  launchChromium,
  openRunTab,
  resultPanel,
  searchAttributes,
  startTourRuns,
  tourScenario,
  waitForStatus,
  type TourRuns,
} from '../src/dev/web-ui-tour.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { SEARCH_ATTRIBUTES } from '../src/shared/workflow-api.js';
import { createTestWorker, devServerEnv, simDeps, toolchain, uniqueTaskQueue } from './helpers/temporal.js';

const chromiumPath = (await toolchain()).chromium ?? (await findChromium());
const skip = chromiumPath ? false : "no Chromium: install Debian's chromium (npm run toolchain does it as root) or set CHROMIUM_PATH";

describe('the Temporal Web UI in a real browser', { skip }, () => {
  const tag = randomUUID().slice(0, 6);
  const { stacks, ...scenario } = tourScenario(tag);
  const taskQueue = uniqueTaskQueue('webui');
  let ownServer: DevServer | undefined;
  let uiUrl: string;
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let worker: Worker;
  let running: Promise<void>;
  let browser: Browser;
  let page: Page;
  let runs: TourRuns;
  const namespace = 'default';

  before(async () => {
    // The shared dev server of `npm test` serves its Web UI (scripts/test.mjs); a file run on its own starts one.
    if (process.env.SNAPSET_TEST_TEMPORAL_UI && process.env.SNAPSET_TEST_TEMPORAL_ADDRESS) {
      uiUrl = process.env.SNAPSET_TEST_TEMPORAL_UI;
    } else {
      ownServer = await startDevServer({
        cli: (await toolchain()).temporalCli,
        port: 0,
        uiPort: await freePort(),
        searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 'Keyword'])),
      });
      process.env.SNAPSET_TEST_TEMPORAL_ADDRESS = ownServer.address;
      uiUrl = ownServer.uiUrl!;
    }
    env = await devServerEnv();
    sim = await startSimulator(scenario);
    worker = await createTestWorker(env, { taskQueue, activities: createActivities(simDeps(sim)) });
    running = worker.run();
    runs = await startTourRuns(env.client, sim, taskQueue, stacks);
    browser = await launchChromium(chromiumPath as string);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    if (runs)
      await env.client.workflow
        .getHandle(runs.waiting.workflowId)
        .terminate('web UI test done')
        .catch(() => undefined);
    worker?.shutdown();
    await running;
    await sim?.close();
    await env?.teardown();
    await ownServer?.stop();
  });

  test('a run waiting for the certificate rotation: phase and wake-up time in the current details, the preflight summaries, the search attributes', async () => {
    const run = runs.waiting;
    await openRunTab(page, uiUrl, namespace, run, 'history');
    await waitForStatus(page, 'Running');

    await openRunTab(page, uiUrl, namespace, run, 'user-metadata');
    const details = await currentDetails(page, run.wakeAt);
    assert.match(details, /^waiting-cert-rotation — waiting /, details);
    assert.ok(details.includes(`until ${run.wakeAt}`), `the wake-up time the progress query reports (${run.wakeAt}) is in: ${details}`);
    assert.match(details, /Update skipCertWait ends it early/);
    const wakeIn = Date.parse(run.wakeAt) - Date.now();
    assert.ok(wakeIn > 24 * 3_600_000 && wakeIn <= 25 * 3_600_000, `a lab installed now wakes up in 25 h, not in ${wakeIn} ms`);

    // The quick steps are local activities: listed with their summaries, without a state of their own.
    const events = await eventsWithMetadata(page, 'preflight: controller controller and oc', LOCAL_STEP_STATE);
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.state]),
      [
        ['Local Activity', `take the lock of stack ${run.stackName}`, LOCAL_STEP_STATE],
        ['Local Activity', 'preflight: cloud and 4 servers', LOCAL_STEP_STATE],
        ['Local Activity', 'preflight: controller controller and oc', LOCAL_STEP_STATE],
      ],
      'while it waits, the run has only checked: nothing was changed',
    );

    await openRunTab(page, uiUrl, namespace, run, 'search-attributes');
    const attrs = await searchAttributes(page, 'waiting-cert-rotation');
    assert.equal(attrs.SnapsetPhase, 'waiting-cert-rotation');
    assert.equal(attrs.StackName, run.stackName);
    assert.equal(attrs.SnapId, undefined, 'no set exists yet');
  });

  test('a failed run: the root cause in the result and the current details, the retake and the cleanup among the summaries', async () => {
    const run = runs.failed;
    assert.match(run.failure.message, /the image of master1 \(.*\) is killed.*attempt 2 of 2/, 'the tour makes the cloud kill master1’s snapshots');

    await openRunTab(page, uiUrl, namespace, run, 'history');
    await waitForStatus(page, 'Failed');
    const failure = await resultPanel(page, 'is killed');
    assert.ok(failure.includes(run.failure.message), `the workflow failure shown starts from the root cause "${run.failure.message}":\n${failure}`);
    assert.ok(failure.includes(run.failure.hint!), 'and says what to do');

    await openRunTab(page, uiUrl, namespace, run, 'user-metadata');
    const details = await currentDetails(page, 'failed');
    assert.ok(details.startsWith(`failed — failed: ${run.failure.message}`), details);
    assert.ok(details.includes(`every image of set ${run.snapId} deleted (4)`), `cleanup is reported: ${details}`);
    assert.ok(details.includes('VMs now: 4 SHUTOFF (controller, master0, master1, worker0)'), `the VMs' states read from Nova: ${details}`);

    const events = await eventsWithMetadata(page, `release the lock of stack ${run.stackName}`, LOCAL_STEP_STATE);
    const after = events.map((e) => [e.kind, e.summary, e.state]).slice(events.findIndex((e) => e.summary === 'wait SHUTOFF (4)'));
    assert.deepEqual(
      after,
      [
        ['Activity', 'wait SHUTOFF (4)', 'Completed'],
        ['Activity', `create 4 images of set ${run.snapId}`, 'Completed'],
        ['Activity', 'delete the failed image of master1 to take it again', 'Completed'],
        ['Activity', `capture set ${run.snapId} again: master1 (attempt 2 of 2)`, 'Completed'],
        ['Activity', `delete every image of set ${run.snapId}`, 'Completed'],
        ['Local Activity', 'read the state of 4 VMs', LOCAL_STEP_STATE],
        ['Local Activity', `release the lock of stack ${run.stackName}`, LOCAL_STEP_STATE],
      ],
      'the capture, the retake, the second capture that found master1 killed again, the cleanup, the stack released',
    );

    await openRunTab(page, uiUrl, namespace, run, 'search-attributes');
    const attrs = await searchAttributes(page, '"failed"');
    assert.deepEqual([attrs.SnapsetPhase, attrs.StackName, attrs.SnapId], ['failed', run.stackName, run.snapId]);
  });

  test('a completed run: the result with its images, the completed phase, the last steps’ summaries', async () => {
    const run = runs.completed;
    const { snapId } = run.result;

    await openRunTab(page, uiUrl, namespace, run, 'history');
    await waitForStatus(page, 'Completed');
    const result = await resultPanel(page, `"snapId": "${snapId}"`);
    for (const img of Object.values(run.result.images)) {
      assert.ok(
        result.includes(`"imageName": "${img.imageName}"`) && result.includes(`"imageId": "${img.imageId}"`),
        `image ${img.imageName} in the result:\n${result}`,
      );
    }

    await openRunTab(page, uiUrl, namespace, run, 'user-metadata');
    const details = await currentDetails(page, snapId);
    assert.equal(details, `completed — SnapSet ${snapId} complete: 4 images`);
    const events = await eventsWithMetadata(page, `release the lock of stack ${run.stackName}`, LOCAL_STEP_STATE);
    assert.deepEqual(
      events.slice(-4).map((e) => [e.kind, e.summary]),
      [
        ['Activity', `create 4 images of set ${snapId}`],
        ['Local Activity', 'tag 4 images'],
        ['Local Activity', `verify set ${snapId} and mark it complete`],
        ['Local Activity', `release the lock of stack ${run.stackName}`],
      ],
    );
    assert.ok(
      events.every((e) => e.state === (e.kind === 'Local Activity' ? LOCAL_STEP_STATE : 'Completed')),
      JSON.stringify(events),
    );

    await openRunTab(page, uiUrl, namespace, run, 'search-attributes');
    const attrs = await searchAttributes(page, '"completed"');
    assert.deepEqual([attrs.SnapsetPhase, attrs.StackName, attrs.SnapId], ['completed', run.stackName, snapId]);
  });
});
