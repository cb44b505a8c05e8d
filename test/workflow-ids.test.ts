/**
 * One namespace of workflow IDs (DESIGN §5): no kind of ID can equal another kind's for any valid
 * stack name. Stack names that would forge another kind's ID (`lock-x`, `revive-x`, `x-prune`, …)
 * are refused at validation, naming the field — by the client before anything starts, and by the
 * workflow itself when started some other way — while the capture of stack `x` runs undisturbed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startRevive, startSnapset } from '../src/client.js';
import { ValidationError } from '../src/shared/errors.js';
import { parseSnapsetInput } from '../src/shared/input.js';
import { parsePruneInput } from '../src/shared/snapset/index.js';
import { parseReviveInput } from '../src/shared/revive.js';
import {
  preflightWorkflowId,
  pruneWorkflowId,
  RESERVED_STACK_WORDS,
  retentionWorkflowId,
  reviveWorkflowId,
  snapsetWorkflowId,
  stackLockWorkflowId,
  stackNameProblem,
} from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { sampleInput, simInput } from './helpers/inputs.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';

/** Every ID the project makes for a stack, by kind. */
function idsOf(stack: string): Record<string, string> {
  const at = new Date('2026-12-01T02:00:00Z');
  return {
    capture: snapsetWorkflowId(stack),
    lock: stackLockWorkflowId(stack),
    revive: reviveWorkflowId(stack),
    retention: retentionWorkflowId(snapsetWorkflowId(stack)),
    prune: pruneWorkflowId('prune', stack, at),
    pruneAll: pruneWorkflowId('prune', undefined, at),
    delete: pruneWorkflowId('delete', stack, at),
    preflight: preflightWorkflowId(stack, 'n0nce'),
    scheduled: `${snapsetWorkflowId(stack)}-2026-12-01T02:00:00Z`,
  };
}

const isStackNameRefusal = (err: unknown) =>
  err instanceof ValidationError && err.issues.some((i) => i.path === 'stackName' && /may not (be|start with|end with) /.test(i.message));

describe('workflow IDs', () => {
  test('for valid stack names, no ID of one kind equals an ID of another kind, whatever the two stacks', () => {
    const words = [
      'x',
      'all',
      '_all',
      'lock',
      'revive',
      'prune',
      'delete',
      'preflight',
      'all',
      'x-prune',
      'prune-x',
      'lock-x',
      'revive-x',
      'delete-all',
      'preflight-x',
      'Lock-x',
      'x-lock',
      'hs-sno-1',
      'a.b_c-d',
    ];
    const candidates = [...words, ...words.flatMap((a) => words.map((b) => `${a}-${b}`))];
    const valid = candidates.filter((s) => /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/.test(s) && stackNameProblem(s) === undefined);
    assert.ok(valid.includes('x') && valid.includes('all') && valid.includes('Lock-x') && valid.includes('x-lock'));
    assert.ok(!valid.includes('lock') && !valid.includes('lock-x') && !valid.includes('x-prune'));
    const owner = new Map<string, string>();
    for (const stack of valid) {
      for (const [kind, id] of Object.entries(idsOf(stack))) {
        const me = kind === 'pruneAll' ? 'pruneAll' : `${kind}:${stack}`;
        const other = owner.get(id);
        assert.ok(other === undefined || other === me, `${kind} of stack ${stack} is ${id}, as is ${other}`);
        owner.set(id, me);
      }
    }
  });

  test('the names that would collide are exactly the refused ones, and every input refuses them naming stackName', () => {
    // Without the rule these would be real collisions: capture of lock-x = lock of x, capture of revive-x = revive of x.
    assert.equal(snapsetWorkflowId('lock-x'), stackLockWorkflowId('x'));
    assert.equal(snapsetWorkflowId('revive-x'), reviveWorkflowId('x'));
    assert.equal(snapsetWorkflowId('x-prune'), retentionWorkflowId(snapsetWorkflowId('x')));
    assert.equal(retentionWorkflowId(snapsetWorkflowId('lock')), stackLockWorkflowId('prune'));
    for (const stack of [...RESERVED_STACK_WORDS.flatMap((w) => [w, `${w}-x`]), 'x-prune']) {
      assert.throws(() => parseSnapsetInput(sampleInput({ stackName: stack })), isStackNameRefusal, stack);
      assert.throws(() => parseReviveInput({ stackName: stack, controller: sampleInput().controller }), isStackNameRefusal, stack);
      assert.throws(() => parsePruneInput({ stackName: stack, keep: 1 }), isStackNameRefusal, stack);
    }
    assert.match(stackNameProblem('lock-x')!, /may not start with "lock-": snapset-lock-x would be the ID of another kind of workflow/);
  });
});

describe('stacks x, lock-x and revive-x at once (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  test("x's capture completes; lock-x and revive-x are refused before anything is started or touched, however they are started", async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const x = await startSnapset(t.env.client, simInput(sim, { stackName: 'x' }), { taskQueue });
      // The client refuses before it starts anything (the capture ID of lock-x is x's lock).
      await assert.rejects(startSnapset(t.env.client, simInput(sim, { stackName: 'lock-x' }), { taskQueue }), isStackNameRefusal);
      await assert.rejects(startRevive(t.env.client, { stackName: 'revive-x', controller: sim.snapsetInput().controller }, { taskQueue }), isStackNameRefusal);
      // Started some other way (raw temporal CLI, any workflow ID), the workflow refuses it at validation.
      for (const stack of ['lock-x', 'revive-x']) {
        const raw = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `raw-${stack}-${taskQueue}`,
          args: [simInput(sim, { stackName: stack })],
        });
        await assert.rejects(raw.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
          assert.equal(err.cause.type, 'ValidationError');
          assert.equal(err.cause.nonRetryable, true);
          assert.match(err.cause.message, new RegExp(`stackName: a stack name may not start with "${stack.split('-')[0]}-"`));
          return true;
        });
      }
      const result = await x.handle.result();
      assert.equal(result.stackName, 'x');
      const lockOfX = await t.env.client.workflow.getHandle(stackLockWorkflowId('x')).describe();
      assert.equal(lockOfX.type, 'stackLock', 'the ID snapset-lock-x is x’s lock and nothing else');
      assert.deepEqual(
        sim.cloud
          .images()
          .filter((i) => i.hotstack_snap_id)
          .map((i) => i.hotstack_stack_name),
        Object.keys(sim.snapsetInput().snapsetData.instances).map(() => 'x'),
        'only x made images',
      );
    });
  });
});
