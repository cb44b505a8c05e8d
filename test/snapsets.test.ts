/**
 * The store's rules without a server: grouping, completeness, expiry, latest, the prune plan.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../src/shared/errors.js';
import { groupSnapsets, latestYaml, parsePruneInput, planPrune, selectLatest, type StoreImage } from '../src/shared/snapset/index.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const at = (msAgo: number) => `${new Date(NOW - msAgo).toISOString().slice(0, 19)}Z`;

let n = 0;
/** One image of a set as createSnapset leaves it (complete unless told otherwise). */
function img(
  snapId: string,
  name: string,
  o: {
    role?: string;
    mac?: string;
    ago?: number;
    status?: string;
    stack?: string | null;
    workflowId?: string;
    size?: number;
    tags?: 'none' | 'seed' | 'complete';
  } = {},
): StoreImage {
  const role = o.role ?? (name === 'controller' ? 'controller' : 'ocp_master');
  const mac = o.mac ?? `fa:16:3e:00:00:${String(++n).padStart(2, '0')}`;
  const seed = ['hotstack', 'hotstack-snapset', `name=${name}`, `role=${role}`, `snap_id=${snapId}`, `mac_address=${mac}`];
  const tags = o.tags === 'none' ? [] : o.tags === 'seed' ? seed : [...seed, 'snapset_complete'];
  const properties: Record<string, string> = { image_type: 'snapshot', hotstack_snap_id: snapId, hotstack_set_size: String(o.size ?? 2) };
  if (o.stack !== null) properties.hotstack_stack_name = o.stack ?? 'hs-a';
  if (o.workflowId) properties.hotstack_workflow_id = o.workflowId;
  return { id: `${snapId}-${name}`, name: `hotstack-${name}-snapshot-${snapId}`, status: o.status ?? 'active', tags, created_at: at(o.ago ?? 0), properties };
}
const pair = (snapId: string, o: Parameters<typeof img>[2] = {}) => [img(snapId, 'controller', o), img(snapId, 'master0', o)];

describe('grouping and completeness', () => {
  test('sets by snap_id tag, else by property; stack from property, else from workflow ID; newest first with ties by snap_id', () => {
    const sets = groupSnapsets([
      ...pair('AAAAAAAA', { ago: DAY }),
      ...pair('BBBBBBBB', { ago: 0, tags: 'none' }),
      ...pair('CCCCCCCC', { ago: 0, stack: null, workflowId: 'snapset-hs-old' }),
      ...pair('DDDDDDDD', { ago: 0, stack: null }),
      { id: 'base', name: 'rhcos', status: 'active', tags: [], created_at: at(0), properties: {} },
    ]);
    assert.deepEqual(
      sets.map((s) => s.snapId),
      ['BBBBBBBB', 'CCCCCCCC', 'DDDDDDDD', 'AAAAAAAA'],
    );
    assert.deepEqual(
      sets.map((s) => s.stackName),
      ['hs-a', 'hs-old', null, 'hs-a'],
    );
    assert.deepEqual(
      sets.map((s) => s.complete),
      [false, true, true, true],
    );
    assert.equal(sets[3]!.expiresAt, at(DAY - 30 * DAY));
    assert.deepEqual(
      sets[0]!.images.map((i) => i.name),
      ['controller', 'master0'],
      'names read from the image names when untagged',
    );
  });

  test('what makes a set incomplete: killed image, missing seed tag, no marker, fewer images than hotstack_set_size', () => {
    const noMac = img('EEEEEEEE', 'master0');
    noMac.tags = noMac.tags.filter((t) => !t.startsWith('mac_address='));
    const sets = groupSnapsets([
      img('KKKKKKKK', 'controller'),
      img('KKKKKKKK', 'master0', { status: 'killed', tags: 'seed' }),
      img('EEEEEEEE', 'controller'),
      noMac,
      img('HHHHHHHH', 'controller', { size: 3 }),
      img('HHHHHHHH', 'master0', { size: 3 }),
      ...pair('SSSSSSSS', { tags: 'seed' }),
    ]);
    const problems = Object.fromEntries(sets.map((s) => [s.snapId, s.problems.join('; ')]));
    assert.match(problems.KKKKKKKK!, /master0: image \S+ is killed/);
    assert.match(problems.KKKKKKKK!, /master0 not marked snapset_complete/);
    assert.match(problems.EEEEEEEE!, /master0: tags missing: mac_address=/);
    assert.match(problems.HHHHHHHH!, /2 of 3 images/);
    assert.match(problems.SSSSSSSS!, /not marked complete/);
    assert.ok(sets.every((s) => !s.complete));
  });
});

describe('latest', () => {
  const store = groupSnapsets([
    ...pair('OLDOLDOL', { ago: 40 * DAY }),
    ...pair('GOODGOOD', { ago: 3 * DAY }),
    img('NEWKILLD', 'controller', { ago: 1000 }),
    img('NEWKILLD', 'master1', { ago: 1000, status: 'killed', tags: 'seed' }),
    ...['controller', 'master0', 'master1', 'master2'].map((nm) => img('THREEMAS', nm, { ago: 2 * DAY, stack: 'hs-b', size: 4 })),
  ]);

  test('the newest complete unexpired set of a stack, every image with its MAC; a newer killed set does not block it', () => {
    const a = selectLatest(store, { stackName: 'hs-a', now: NOW });
    assert.ok(a.found);
    assert.equal(a.latest.snapId, 'GOODGOOD');
    assert.deepEqual(Object.keys(a.latest.images), ['controller', 'master0']);
    assert.match(a.latest.images.master0!.macAddress, /^fa:16:3e:/);
    assert.deepEqual(a.latest.stack_parameters, {
      controller_params: { image: 'hotstack-controller-snapshot-GOODGOOD' },
      ocp_master_params: { image: 'hotstack-master0-snapshot-GOODGOOD' },
    });
  });

  test('several masters: listed, said so, no ocp_master parameter; --role narrows', () => {
    const b = selectLatest(store, { stackName: 'hs-b', now: NOW });
    assert.ok(b.found);
    assert.equal(Object.keys(b.latest.images).length, 4);
    assert.deepEqual(b.latest.multiInstanceRoles, ['ocp_master']);
    assert.deepEqual(Object.keys(b.latest.stack_parameters), ['controller_params']);
    const yaml = latestYaml(b.latest);
    assert.match(yaml, /# role ocp_master has 3 instances/);
    assert.match(yaml, /^stack_parameters:\n {2}controller_params:\n {4}image: "hotstack-controller-snapshot-THREEMAS"$/m);
    const c = selectLatest(store, { stackName: 'hs-b', roles: ['controller'], now: NOW });
    assert.ok(c.found);
    assert.deepEqual(Object.keys(c.latest.images), ['controller']);
  });

  test('nothing good: the message says what exists', () => {
    const none = selectLatest(store, { stackName: 'hs-a', now: NOW + 28 * DAY });
    assert.ok(!none.found);
    assert.match(none.message, /newest set NEWKILLD .* is incomplete: master1: image \S+ is killed/);
    assert.match(none.message, /newest complete set GOODGOOD expired at/);
    const missing = selectLatest(store, { stackName: 'hs-zz', now: NOW });
    assert.ok(!missing.found);
    assert.match(missing.message, /no SnapSet of stack hs-zz .*stacks with sets: hs-a, hs-b/);
  });
});

describe('prune plan', () => {
  const policy = { maxAgeMs: 30 * DAY, incompleteGraceMs: 2 * 3_600_000, now: NOW };

  test('keep 2: the newest two complete stay, older and expired go, young incomplete stay, old incomplete go, per stack', () => {
    const store = groupSnapsets([
      ...pair('C1C1C1C1', { ago: 1 * DAY }),
      ...pair('C2C2C2C2', { ago: 2 * DAY }),
      ...pair('C3C3C3C3', { ago: 3 * DAY }),
      ...pair('C4C4C4C4', { ago: 40 * DAY }),
      ...pair('IYIYIYIY', { ago: 60_000, tags: 'seed' }),
      ...pair('IOIOIOIO', { ago: 3 * 3_600_000, tags: 'seed' }),
      ...pair('B1B1B1B1', { ago: 50 * DAY, stack: 'hs-b' }),
    ]);
    const plan = planPrune(store, { ...policy, keep: 2 });
    assert.deepEqual([...plan.delete].sort(), ['C3C3C3C3', 'C4C4C4C4', 'IOIOIOIO']);
    assert.deepEqual([...plan.keep].sort(), ['B1B1B1B1', 'C1C1C1C1', 'C2C2C2C2', 'IYIYIYIY']);
    assert.match(plan.reasons.B1B1B1B1!, /newest complete set of stack hs-b: never deleted/);
    assert.match(plan.reasons.C3C3C3C3!, /only the newest 2 are kept/);
    assert.match(plan.reasons.IOIOIOIO!, /incomplete for longer than 2h/);
    assert.match(plan.reasons.IYIYIYIY!, /younger than 2h/);
    const onlyB = planPrune(store, { ...policy, keep: 1, stackName: 'hs-b' });
    assert.deepEqual(onlyB, { delete: [], keep: ['B1B1B1B1'], reasons: { B1B1B1B1: onlyB.reasons.B1B1B1B1 } });
  });

  test('never a set whose capture run is open (made since the run started), even an old incomplete one; older sets of the same ID are not protected', () => {
    const store = groupSnapsets([
      ...pair('NEWEST00', { ago: 0, workflowId: 'snapset-hs-a' }),
      ...pair('RUNNING0', { ago: 5 * 3_600_000, tags: 'none', workflowId: 'snapset-hs-a' }),
      ...pair('EARLIER0', { ago: 10 * 3_600_000, tags: 'none', workflowId: 'snapset-hs-a' }),
    ]);
    const plan = planPrune(store, { ...policy, keep: 1, openRuns: { 'snapset-hs-a': NOW - 6 * 3_600_000 } });
    assert.deepEqual(plan.delete, ['EARLIER0']);
    assert.match(plan.reasons.RUNNING0!, /capture run snapset-hs-a is still open/);
  });

  test('delete by snap_id: exactly those, never the newest complete set, unknown ones said so', () => {
    const store = groupSnapsets([...pair('C1C1C1C1', { ago: DAY }), ...pair('C2C2C2C2', { ago: 2 * DAY })]);
    const plan = planPrune(store, { ...policy, snapIds: ['C2C2C2C2', 'C1C1C1C1', 'NOPENOPE'] });
    assert.deepEqual(plan.delete, ['C2C2C2C2']);
    assert.deepEqual(plan.keep, ['C1C1C1C1']);
    assert.match(plan.reasons.NOPENOPE!, /no such set/);
  });

  test('input validation names the fields', () => {
    assert.throws(
      () => parsePruneInput({ keep: 0, maxAge: 'soon', snapIds: ['x'], extra: 1 }),
      (e: unknown) => e instanceof ValidationError && ['keep', 'maxAge', 'snapIds', 'extra'].every((f) => e.issues.some((i) => i.path === f)),
    );
    assert.throws(
      () => parsePruneInput({}),
      (e: unknown) => e instanceof ValidationError && /keep: required/.test(e.message),
    );
    assert.deepEqual(parsePruneInput({ keep: 2 }), { keep: 2, maxAgeMs: 30 * DAY, incompleteGraceMs: 2 * 3_600_000, dryRun: false });
  });
});
