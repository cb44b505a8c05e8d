/** Worker slots from the environment (src/worker.ts workerTuning). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/shared/errors.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_CACHED_WORKFLOWS, WORKER_ENV, WORKER_NODE_FLAGS, workerTuning } from '../src/worker.js';
import { repoRoot } from './helpers/paths.js';

test('SNAPSET_MAX_* become the SDK worker options; bad values name the variable', () => {
  assert.deepEqual(workerTuning({}), { maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS });
  assert.deepEqual(workerTuning({ SNAPSET_MAX_ACTIVITIES: '200', SNAPSET_MAX_WORKFLOW_TASKS: '80', SNAPSET_MAX_CACHED_WORKFLOWS: '500' }), {
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 80,
    maxCachedWorkflows: 500,
  });
  assert.throws(
    () => workerTuning({ SNAPSET_MAX_ACTIVITIES: 'lots' }),
    (e: unknown) => e instanceof ConfigError && /SNAPSET_MAX_ACTIVITIES: expected a whole number/.test(e.message),
  );
});

test('npm run worker starts the worker with the flags and environment the bench measures (WORKER_NODE_FLAGS, WORKER_ENV)', () => {
  const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.worker!;
  assert.ok(script.includes(`node ${WORKER_NODE_FLAGS.join(' ')} dist/src/worker.js`), script);
  for (const [k, v] of Object.entries(WORKER_ENV)) assert.ok(script.includes(`${k}=\${${k}:-${v}}`), `${k} in ${script}`);
});
