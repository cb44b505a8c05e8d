/**
 * Real Temporal servers for tests: the shared dev server started by `npm test` (scripts/test.mjs),
 * or one started here when a file is run on its own; the time-skipping test server, one per call.
 * Never a download: both come from the project's toolchain (`existing-path`).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadToolchain, type Toolchain } from '../../src/dev/toolchain.js';
import { workflowsPath } from '../../src/dev/bundle.js';
import { SEARCH_ATTRIBUTES } from '../../src/shared/workflow-api.js';
import { createActivities, type ActivityDeps } from '../../src/activities/index.js';
import { controllerConnector } from '../../src/cluster/index.js';
import { CloudsYamlClientProvider } from '../../src/openstack/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { DEFAULT_SCENARIO, type ScenarioInput } from '../../src/sim/scenario.js';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function toolchain(): Promise<Toolchain> {
  const fromRunner = process.env.SNAPSET_TEST_TOOLCHAIN;
  return fromRunner ? (JSON.parse(fromRunner) as Toolchain) : loadToolchain();
}

/** The shared dev server (Temporal CLI), with the project's search attributes registered. */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const address = process.env.SNAPSET_TEST_TEMPORAL_ADDRESS;
  if (address) return TestWorkflowEnvironment.createFromExistingServer({ address });
  const { temporalCli } = await toolchain();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli },
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
    },
  });
}

/** A fresh time-skipping test server (Java, from Maven) for this file. */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const { testServer } = await toolchain();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServer } } });
}

/** A task queue of its own, so test files sharing one server never pick up each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A worker on the env's connection, loading the pre-built workflow bundle when there is one. */
export async function createTestWorker(
  env: TestWorkflowEnvironment,
  opts: { taskQueue: string; activities?: object } & Partial<WorkerOptions>,
): Promise<Worker> {
  const bundle = process.env.SNAPSET_TEST_WORKFLOW_BUNDLE;
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
    ...opts,
  });
}

/**
 * The time-skipping server knows no custom search attributes until they are added through the
 * operator service (as the Java SDK's TestWorkflowEnvironment.registerSearchAttribute does).
 */
export async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
  });
}

/** Activity dependencies pointed at a running simulator: its clouds.yaml, real SSH. */
export function simDeps(sim: Simulator): ActivityDeps {
  return {
    openstack: new CloudsYamlClientProvider({
      timeoutMs: 10_000,
      lookup: { env: { OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } },
    }),
    ssh: controllerConnector(),
    clusterPollIntervalMs: 200,
  };
}

/** Simulator scenario for workflow tests: two VMs, every latency x0.01. */
export const FAST_SCENARIO = { ...DEFAULT_SCENARIO, timeScale: 0.01 } as const;

/**
 * Runs `fn` with a fresh simulator and a worker wired to it on its own task queue (a SnapSet run
 * shuts the simulated VMs down, so every run gets its own lab).
 */
export async function withSimWorker<T>(
  env: TestWorkflowEnvironment,
  fn: (ctx: { sim: Simulator; taskQueue: string; worker: Worker }) => Promise<T>,
  scenario: ScenarioInput = FAST_SCENARIO,
  workerOptions: Partial<WorkerOptions> = {},
): Promise<T> {
  const sim = await startSimulator(scenario);
  try {
    const taskQueue = uniqueTaskQueue('sim');
    const worker = await createTestWorker(env, { ...workerOptions, taskQueue, activities: createActivities(simDeps(sim)) });
    return await worker.runUntil(fn({ sim, taskQueue, worker }));
  } finally {
    await sim.close();
  }
}

export interface TemporalFixture {
  /** The environment (set in `before`). */
  readonly env: TestWorkflowEnvironment;
  /** Task queue of the fixture's plain worker (no activities), when one was asked for. */
  readonly taskQueue: string;
}

/**
 * Registers node:test hooks for a suite: a Temporal environment (the shared dev server, or a
 * time-skipping server with the search attributes registered) and optionally a plain worker on a
 * task queue of its own; all torn down in `after`.
 */
export function useTemporal(kind: 'dev-server' | 'time-skipping', opts: { worker?: boolean } = {}): TemporalFixture {
  const taskQueue = uniqueTaskQueue(kind === 'dev-server' ? 'dev' : 'ts');
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  before(async () => {
    if (kind === 'dev-server') {
      env = await devServerEnv();
    } else {
      env = await timeSkippingEnv();
      await registerSearchAttributes(env);
    }
    if (opts.worker) {
      worker = await createTestWorker(env, { taskQueue });
      running = worker.run();
    }
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });
  return {
    get env() {
      if (!env) throw new Error('the Temporal environment is only there once before() ran');
      return env;
    },
    taskQueue,
  };
}

/** A temporary directory for the suite, removed in `after`. */
export function useTempDir(prefix: string): { readonly path: string } {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      if (!dir) throw new Error('the directory is only there once before() ran');
      return dir;
    },
  };
}

/** The ApplicationFailure a workflow run failed with (asserts it failed, and with one). */
export async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return err instanceof WorkflowFailedError;
  });
  const cause = (caught as WorkflowFailedError).cause;
  assert.ok(cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(cause)}`);
  return cause;
}
