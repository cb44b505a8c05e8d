/**
 * The Temporal Web UI as the on-call engineer reads it (DESIGN §4, §8): three createSnapset runs of
 * three simulated labs — one waiting for the certificate rotation, one failed (the cloud kills a
 * snapshot), one completed — and readers for what the run's pages show. Shared by the browser test
 * (test/web-ui.test.ts) and `npm run screenshots`, so the pictures in docs/img/ show exactly what
 * the test asserts. The browser is the system's Chromium driven by playwright-core (no download).
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { progressQuery, snapsetWorkflowId, type SnapsetFailureInfo, type SnapsetResult } from '../shared/workflow-api.js';
import type { Simulator } from '../sim/index.js';
import type { ScenarioInput } from '../sim/scenario.js';

/** A run as the tour made it. */
export interface TourRun {
  stackName: string;
  workflowId: string;
  runId: string;
}

export interface TourRuns {
  /** In `waiting-cert-rotation`, its 25 h timer running (terminate it when done). */
  waiting: TourRun & { wakeAt: string; details: string };
  /** Failed in creating-images: the cloud killed one snapshot, twice (taken again once); cleanup deleted the set. */
  failed: TourRun & { snapId: string; failure: SnapsetFailureInfo; details: string };
  completed: TourRun & { result: SnapsetResult; details: string };
}

/** Generous: the test machine is a loaded 2-core box (a page, a query, a run of a few seconds). */
export const UI_TIMEOUT_MS = Number(process.env.SNAPSET_UI_TIMEOUT_MS ?? 90_000);

/**
 * Three labs of a controller, two masters and a worker in one simulated cloud, named after `tag`
 * (so tours on a shared server never take each other's stack lock). The failed lab's master1 gets
 * every snapshot killed by the cloud: taken again once, then the run fails.
 */
export function tourScenario(tag: string): ScenarioInput & { stacks: { waiting: string; failed: string; completed: string } } {
  const stacks = { waiting: `hs-ui-wait-${tag}`, failed: `hs-ui-fail-${tag}`, completed: `hs-ui-done-${tag}` };
  const lab = (n: number) => {
    const vm = (i: number, role: string, node?: string) => ({
      uuid: `6f4512de-f744-4979-8ab2-${String(n).padStart(4, '0')}${String(i).padStart(8, '0')}`,
      role,
      mac_address: `fa:16:3e:00:${String(n).padStart(2, '0')}:${String(i).padStart(2, '0')}`,
      ...(node ? { node } : {}),
    });
    return {
      controller: vm(0, 'controller'),
      master0: vm(10, 'ocp_master', 'master-0'),
      master1: vm(11, 'ocp_master', 'master-1'),
      worker0: vm(20, 'ocp_worker', 'worker-0'),
    };
  };
  const failing = lab(2);
  return {
    stacks,
    stackName: stacks.waiting,
    timeScale: 0.01,
    instances: lab(1),
    labs: { [stacks.failed]: { instances: failing }, [stacks.completed]: { instances: lab(3) } },
    cloud: { faults: { killImagesOfServers: [failing.master1.uuid] } },
  };
}

/** Polls `fn` until it returns a value, or fails after `timeoutMs` naming `what`. */
async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = UI_TIMEOUT_MS, seen?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen ? `; the page showed: ${seen()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Starts the three runs on `taskQueue` (a worker wired to `sim` must poll it) and returns once each
 * is where the tour shows it: waiting, failed, completed.
 */
export async function startTourRuns(client: Client, sim: Simulator, taskQueue: string, stacks: ReturnType<typeof tourScenario>['stacks']): Promise<TourRuns> {
  const input = (stackName: string, clusterCreatedAt: string) => ({
    ...sim.snapsetInput(stackName),
    prepare: { stablePeriod: '60s', clusterCreatedAt },
    capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', imageAttempts: 2, imageRetryDelay: '1s' },
  });
  const longAgo = new Date(Date.now() - 3 * 24 * 3_600_000).toISOString();
  const start = (stackName: string, clusterCreatedAt: string) =>
    client.workflow.start('createSnapset', { taskQueue, workflowId: snapsetWorkflowId(stackName), args: [input(stackName, clusterCreatedAt)] });
  const ref = (h: WorkflowHandleWithFirstExecutionRunId, stackName: string): TourRun => ({ stackName, workflowId: h.workflowId, runId: h.firstExecutionRunId });
  const [waitH, failH, doneH] = await Promise.all([
    start(stacks.waiting, new Date().toISOString()),
    start(stacks.failed, longAgo),
    start(stacks.completed, longAgo),
  ]);

  const waiting = async () => {
    const p = await eventually(async () => {
      const q = await waitH.query(progressQuery);
      return q.phase === 'waiting-cert-rotation' && q.certWait && q.details.startsWith('waiting ') ? q : undefined;
    }, `${waitH.workflowId} to wait for the certificate rotation`);
    return { ...ref(waitH, stacks.waiting), wakeAt: p.certWait!.wakeAt, details: p.details };
  };
  const failed = async () => {
    const err = await failH.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!err) throw new Error(`${failH.workflowId} completed, but the tour needs it to fail (killed snapshot)`);
    const p = await failH.query(progressQuery);
    if (!p.failure || !p.snapId) throw new Error(`${failH.workflowId} failed without a failure report: ${JSON.stringify(p)}`);
    return { ...ref(failH, stacks.failed), snapId: p.snapId, failure: p.failure, details: p.details };
  };
  const completed = async () => {
    const result = (await doneH.result()) as SnapsetResult;
    const p = await doneH.query(progressQuery);
    return { ...ref(doneH, stacks.completed), result, details: p.details };
  };
  const [w, f, c] = await Promise.all([waiting(), failed(), completed()]);
  return { waiting: w, failed: f, completed: c };
}

/** The system Chromium under playwright-core; root needs `--no-sandbox`. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'], timeout: UI_TIMEOUT_MS });
}

export type RunTab = 'history' | 'user-metadata' | 'search-attributes';

export function runPageUrl(uiUrl: string, namespace: string, run: TourRun, tab: RunTab): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/${tab}`;
}

/** Opens a tab of a run's page and waits until the run's header (its workflow ID and status) is drawn. */
export async function openRunTab(page: Page, uiUrl: string, namespace: string, run: TourRun, tab: RunTab): Promise<void> {
  await page.goto(runPageUrl(uiUrl, namespace, run, tab), { timeout: UI_TIMEOUT_MS });
  await page.getByRole('heading', { name: run.workflowId }).first().waitFor({ timeout: UI_TIMEOUT_MS });
}

/** The run's status badge as the header shows it (`Running`, `Failed`, `Completed`, …), once it reads `expected`. */
export async function waitForStatus(page: Page, expected: string): Promise<void> {
  await page.locator('header, main').getByText(expected, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
}

/**
 * The "Current Details" panel of the User Metadata tab: the UI renders the workflow's markdown in
 * an iframe of its own. Waits until it contains `expect`, then returns its text.
 */
export async function currentDetails(page: Page, expect: string): Promise<string> {
  const body = page.frameLocator('iframe[src*="/render"]').locator('body');
  await body.filter({ hasText: expect }).waitFor({ timeout: UI_TIMEOUT_MS });
  return (await body.innerText()).replace(/\s+/g, ' ').trim();
}

/** One row of the "Events with Metadata" list: an activity's or child workflow's summary and its state. */
export interface MetadataEvent {
  kind: string;
  summary: string;
  state: string;
}

/**
 * The state the Web UI shows for a local activity (the quick steps): a marker in the history, which the
 * UI lists with its summary but without a state of its own.
 */
export const LOCAL_STEP_STATE = 'Unspecified';

/**
 * The "Events with Metadata" list of the User Metadata tab (the activity and child summaries, each
 * with its state), once a row reads `expectSummary` in state `expectState`.
 */
export async function eventsWithMetadata(page: Page, expectSummary: string, expectState: string): Promise<MetadataEvent[]> {
  const section = page.getByTestId('user-metadata-summary-heading').filter({ hasText: 'Events with Metadata' }).locator('xpath=../..');
  const read = async () => {
    const lines = (await section.innerText())
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(1);
    const rows: MetadataEvent[] = [];
    for (let i = 0; i + 2 < lines.length; i += 3) rows.push({ kind: lines[i]!, summary: lines[i + 1] ?? '', state: lines[i + 2] ?? '' });
    return rows;
  };
  await section.getByText(expectSummary, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
  let last: MetadataEvent[] = [];
  return eventually(
    async () => {
      last = await read();
      return last.some((r) => r.summary === expectSummary && r.state === expectState) ? last : undefined;
    },
    `the event "${expectSummary}" to read ${expectState}`,
    UI_TIMEOUT_MS,
    () => JSON.stringify(last),
  );
}

/** The Search Attributes tab's JSON (`indexedFields`), once it shows `expectKey`. */
export async function searchAttributes(page: Page, expectKey: string): Promise<Record<string, unknown>> {
  const code = page.locator('.cm-content').filter({ hasText: expectKey }).first();
  await code.waitFor({ timeout: UI_TIMEOUT_MS });
  const parsed = JSON.parse(await code.innerText()) as { indexedFields?: Record<string, unknown> };
  return parsed.indexedFields ?? {};
}

/** The History tab's "Result" panel (a result, or the workflow failure), once it contains `expect`. */
export async function resultPanel(page: Page, expect: string): Promise<string> {
  const code = page.locator('.cm-content').filter({ hasText: expect }).first();
  await code.waitFor({ timeout: UI_TIMEOUT_MS });
  return code.innerText();
}
