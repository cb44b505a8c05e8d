/** Worker slots from the environment (src/worker.ts workerTuning). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/shared/errors.js';
import { workerTuning } from '../src/worker.js';

test('SNAPSET_MAX_* become the SDK worker options; bad values name the variable', () => {
  assert.deepEqual(workerTuning({}), {});
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
