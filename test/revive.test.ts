/**
 * reviveSnapset on the dev server against the simulator: the set check (newest complete set, an
 * expired or incomplete set refused with nothing changed), the seed's sequence, and CSR approval
 * limited to the kubelet CSRs of our nodes — every outcome read from the simulator's state.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../src/shared/errors.js';
import { describeAge, parseReviveInput, type ReviveInputArg } from '../src/shared/revive.js';
import { COMPLETE_TAG, setProblems } from '../src/shared/snapset/index.js';
import type { ScenarioInput } from '../src/sim/scenario.js';
import type { Simulator } from '../src/sim/index.js';
import { reviveSnapset } from '../src/workflows/index.js';
import { repoRoot } from './helpers/paths.js';
import { FAST_SCENARIO, useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';

const execFileP = promisify(execFile);

const DAY = 86_400_000;
const STACK = FAST_SCENARIO.stackName!;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The images a capture leaves in Glance for the scenario's two VMs. */
function seedSet(snapId: string, opts: { stack?: string; createdAt: string; complete?: boolean; killed?: string; legacy?: boolean }) {
  const instances = FAST_SCENARIO.instances as Record<string, { role: string; mac_address: string }>;
  return Object.entries(instances).map(([name, inst]) => ({
    name: `hotstack-${name}-snapshot-${snapId}`,
    status: opts.killed === name ? ('killed' as const) : ('active' as const),
    tags:
      opts.killed === name
        ? []
        : [
            'hotstack',
            'hotstack-snapset',
            `name=${name}`,
            `role=${inst.role}`,
            `snap_id=${snapId}`,
            `mac_address=${inst.mac_address}`,
            ...(opts.complete === false ? [] : [COMPLETE_TAG]),
          ],
    properties: {
      hotstack_snap_id: snapId,
      hotstack_set_size: '2',
      // Images made before hotstack_stack_name existed say their stack through the CLI's workflow ID only.
      ...(opts.legacy ? {} : { hotstack_stack_name: opts.stack ?? STACK }),
      hotstack_workflow_id: `snapset-${opts.stack ?? STACK}`,
    },
    createdAt: opts.createdAt,
  }));
}

/** A lab just redeployed from a set: nodes cordoned, kubelet CSRs blocking Ready, foreign CSRs, a slow route API, unstable operators. */
const REVIVE_SCENARIO: ScenarioInput = {
  ...FAST_SCENARIO,
  cloud: {
    images: [
      ...seedSet('good0001', { createdAt: ago(2 * DAY), legacy: true }),
      ...seedSet('newbad01', { createdAt: ago(DAY), complete: false, killed: 'master0' }),
      ...seedSet('old00001', { createdAt: ago(40 * DAY) }),
      ...seedSet('other001', { createdAt: ago(3_600_000), stack: 'hs-other' }),
    ],
  },
  controller: {
    routeApiAfterSeconds: 150,
    stability: { unstableForSeconds: 50 },
    nodes: { 'master-0': { unschedulable: true }, 'worker-0': { unschedulable: true } },
    csrs: [
      { name: 'csr-master-0-client', node: 'master-0', kind: 'kubelet-client', blocksReady: true },
      { name: 'csr-worker-0-bootstrap', node: 'worker-0', kind: 'kubelet-client-bootstrap', blocksReady: true },
      { name: 'csr-foreign-user', node: 'master-0', kind: 'kubelet-serving', username: 'system:serviceaccount:default:builder' },
      { name: 'csr-cn-mismatch', node: 'worker-0', kind: 'kubelet-serving', commonName: 'system:node:master-9' },
    ],
  },
};

function reviveInput(sim: Simulator, overrides: Partial<ReviveInputArg> = {}): ReviveInputArg {
  const { stackName, cloud, controller } = sim.snapsetInput();
  return { stackName, cloud, controller, ...overrides };
}

function isNotRevivable(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, FailureTypes.notRevivable);
    assert.match(cause.message, pattern);
    return true;
  };
}

describe('reviveSnapset (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  test('revives from the newest complete set of the stack: the seed sequence, only kubelet CSRs approved, every node Ready and schedulable', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        assert.deepEqual(
          sim.controller
            .nodes()
            .map((n) => [n.name, n.ready, n.unschedulable])
            .sort(),
          [
            ['master-0', false, true],
            ['worker-0', false, true],
          ],
          'the lab starts cordoned and NotReady',
        );
        const handle = await t.env.client.workflow.start(reviveSnapset, { taskQueue, workflowId: `revive-${taskQueue}`, args: [reviveInput(sim)] });
        const result = await handle.result();

        // The newer incomplete set and the other stack's set are passed over; the legacy set's stack comes from its workflow ID.
        assert.equal(result.snapId, 'good0001');
        assert.equal(result.set.complete, true);
        assert.match(result.set.age, /^(1d 23h|2d 0h)$/);

        const csrs = Object.fromEntries(sim.controller.csrs().map((c) => [c.name, c.state]));
        assert.deepEqual(csrs, {
          'csr-master-0-client': 'Approved',
          'csr-worker-0-bootstrap': 'Approved',
          'csr-foreign-user': 'Pending',
          'csr-cn-mismatch': 'Pending',
        });
        assert.deepEqual(result.csrs.approved.map((c) => c.name).sort(), ['csr-master-0-client', 'csr-worker-0-bootstrap']);
        assert.deepEqual(result.csrs.ignored.map((c) => c.name).sort(), ['csr-cn-mismatch', 'csr-foreign-user']);

        for (const n of sim.controller.nodes()) {
          assert.equal(n.ready, true, `${n.name} Ready`);
          assert.equal(n.unschedulable, false, `${n.name} schedulable`);
        }
        assert.deepEqual(result.nodes.map((n) => n.name).sort(), ['master-0', 'worker-0']);

        // The seed's order: stable 5 s → uncordon → stable 60 s → stable 60 s → route API → CSRs.
        const cmds = sim.controller.commands().map((c) => c.command);
        const stableAt = cmds.flatMap((c, i) => (/wait-for-stable-cluster/.test(c) ? [{ i, c }] : []));
        assert.equal(stableAt.length, 3, cmds.join(' | '));
        assert.match(stableAt[0]!.c, /minimum-stable-period[= ]5s/);
        assert.match(stableAt[1]!.c, /minimum-stable-period[= ](60s|1m)/);
        assert.match(stableAt[2]!.c, /minimum-stable-period[= ](60s|1m)/);
        const uncordonAt = cmds.findIndex((c) => /adm uncordon/.test(c));
        assert.ok(uncordonAt > stableAt[0]!.i && uncordonAt < stableAt[1]!.i, `uncordon between the first and second wait: ${cmds.join(' | ')}`);
        const routeAt = cmds.findIndex((c) => /api-versions/.test(c));
        const approveAt = cmds.findIndex((c) => /certificate approve/.test(c));
        assert.ok(routeAt > stableAt[2]!.i && approveAt > routeAt, `route API after the waits, CSRs after it: ${cmds.join(' | ')}`);
        assert.ok(!cmds.some((c) => /certificate approve .*csr-(foreign-user|cn-mismatch)/.test(c)), 'the foreign CSRs were never sent to approve');

        assert.deepEqual(result.phasesRun, [
          'validating',
          'checking-set',
          'preflight',
          'waiting-stable',
          'uncordoning',
          'waiting-route-api',
          'approving-csrs',
          'waiting-nodes-ready',
          'completed',
        ]);
        // The lock was released: another run of the stack may start.
        const lock = await t.env.client.workflow.getHandle(`snapset-lock-${STACK}`).describe();
        assert.equal(lock.status.name, 'TERMINATED');
      },
      REVIVE_SCENARIO,
    );
  });

  test('an expired set is refused with its age and nothing is touched; force revives it anyway', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const expired = t.env.client.workflow.execute(reviveSnapset, {
          taskQueue,
          workflowId: `revive-old-${taskQueue}`,
          args: [reviveInput(sim, { snapId: 'old00001' })],
        });
        await assert.rejects(expired, isNotRevivable(/set old00001 is (39d 23h|40d 0h) old .*older than 30d/));
        assert.ok(!sim.controller.commands().some((c) => /uncordon|certificate approve|wait-for-stable/.test(c.command)), 'nothing was sent to the cluster');
        assert.ok(
          sim.controller.nodes().every((n) => n.unschedulable),
          'the nodes are still cordoned',
        );
        assert.ok(
          sim.controller.csrs().every((c) => c.state === 'Pending'),
          'no CSR approved',
        );

        const forced = await t.env.client.workflow.execute(reviveSnapset, {
          taskQueue,
          workflowId: `revive-forced-${taskQueue}`,
          args: [reviveInput(sim, { snapId: 'old00001', force: true })],
        });
        assert.equal(forced.snapId, 'old00001');
        assert.match(forced.set.forced!.join(), /older than 30d/);
        assert.ok(
          sim.controller.nodes().every((n) => n.ready && !n.unschedulable),
          'revived',
        );
      },
      REVIVE_SCENARIO,
    );
  });

  test('an incomplete set, a set of another stack and an unknown snap_id are refused naming why', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const run = (snapId: string, id: string) =>
          t.env.client.workflow.execute(reviveSnapset, { taskQueue, workflowId: `revive-${id}-${taskQueue}`, args: [reviveInput(sim, { snapId })] });
        await assert.rejects(run('newbad01', 'incomplete'), isNotRevivable(/set newbad01 is incomplete: .*master0: image \S+ is killed/));
        await assert.rejects(run('other001', 'other'), isNotRevivable(/set other001 is of stack hs-other, not hs-sno-1/));
        await assert.rejects(run('nothere1', 'unknown'), isNotRevivable(/set nothere1 is incomplete: no image of this set exists/));
        assert.ok(!sim.controller.commands().some((c) => /uncordon|certificate approve/.test(c.command)), 'nothing was changed');
        // A bad input names its field.
        await assert.rejects(
          t.env.client.workflow.execute(reviveSnapset, {
            taskQueue,
            workflowId: `revive-bad-${taskQueue}`,
            args: [{ ...reviveInput(sim), snapId: 'x y', maxAge: 'soon' }],
          }),
          (err: unknown) => {
            assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
            assert.equal(err.cause.type, FailureTypes.validation);
            assert.match(err.cause.message, /snapId: expected a snap_id/);
            assert.match(err.cause.message, /maxAge: expected a duration/);
            return true;
          },
        );
      },
      REVIVE_SCENARIO,
    );
  });
});

describe('snapset revive (CLI process, dev server + simulator)', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-revive-');

  test('usage errors exit 2; revive -f <createSnapset input> --watch ends with the stack revived, exit 0', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const snapset = async (...args: string[]) => {
          try {
            const { stdout, stderr } = await execFileP(process.execPath, [join(repoRoot, 'bin', 'snapset.js'), '--task-queue', taskQueue, ...args], {
              env: { ...process.env, TEMPORAL_ADDRESS: t.env.address },
              timeout: 90_000,
            });
            return { code: 0, stdout, stderr };
          } catch (err) {
            const e = err as { code: number; stdout: string; stderr: string };
            return { code: e.code, stdout: e.stdout, stderr: e.stderr };
          }
        };
        const neither = await snapset('revive', '--stack', STACK);
        assert.deepEqual([neither.code, /exactly one of --file or --controller/.test(neither.stderr)], [2, true], neither.stderr);
        const badId = await snapset('revive', '--stack', STACK, '--controller', '{}', '--snap-id', 'nope');
        assert.deepEqual([badId.code, /--snap-id <id>' argument 'nope' is invalid/.test(badId.stderr)], [2, true], badId.stderr);
        const badController = await snapset('--address', '127.0.0.1:1', 'revive', '--stack', STACK, '--controller', '{"host":"h"}');
        assert.deepEqual([badController.code, /controller\.name: required/.test(badController.stderr)], [2, true], badController.stderr);

        const file = join(tmp.path, 'snapset.json');
        await writeFile(file, JSON.stringify(sim.snapsetInput()));
        const r = await snapset('revive', '-f', file, '--watch');
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`started snapset-revive-${STACK}: revive of stack ${STACK} from its newest complete set`));
        assert.ok(
          sim.controller.nodes().every((n) => n.ready && !n.unschedulable),
          'every node Ready and schedulable',
        );
        assert.equal(sim.controller.csrs().find((c) => c.name === 'csr-foreign-user')?.state, 'Pending');
      },
      REVIVE_SCENARIO,
    );
  });
});

describe('revive rules (pure)', () => {
  test('a set is complete only with every image active, the six tags, the marker and the size the capture wrote', () => {
    const img = (id: string, over: Partial<{ status: string; tags: string[]; size: string }> = {}) => ({
      id,
      name: `hotstack-${id}-snapshot-AAAAAAAA`,
      status: over.status ?? 'active',
      tags: over.tags ?? ['hotstack', 'hotstack-snapset', `name=${id}`, 'role=r', 'snap_id=AAAAAAAA', 'mac_address=fa:16:3e:00:00:01', COMPLETE_TAG],
      created_at: '2026-11-30T01:00:00Z',
      properties: { hotstack_set_size: over.size ?? '2', hotstack_stack_name: 's' },
    });
    // The model's one completeness rule, which revive's set check uses.
    assert.deepEqual(setProblems('AAAAAAAA', [img('a'), img('b')]), []);
    assert.deepEqual(setProblems('AAAAAAAA', [img('a')]), ['1 of 2 images']);
    assert.match(setProblems('AAAAAAAA', [img('a'), img('b', { status: 'queued' })]).join(), /b: image b is queued/);
    assert.deepEqual(setProblems('AAAAAAAA', [img('a'), img('b', { tags: ['hotstack', 'name=b'] })]), [
      'b: tags missing: hotstack-snapset, role=…, mac_address=…, snap_id=AAAAAAAA',
      `b not marked ${COMPLETE_TAG}`,
    ]);
    assert.deepEqual(setProblems('AAAAAAAA', []), ['no image of this set exists']);
    assert.equal(describeAge(40 * DAY + 3_600_000), '40d 1h');
    assert.throws(() => parseReviveInput({ stackName: 'bad name', controller: {} }), /stackName: expected a stack name.*controller\.name: required/);
  });
});
