/**
 * One SnapSet model (DESIGN §10): every reader of the image store — `snapset latest`, reviveSnapset's
 * set check, prune, the capture's verification — agrees on which images form a set, whether it is
 * complete, when it was made and which set is the newest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withFailureMapping } from '../src/activities/failures.js';
import { createReviveActivities } from '../src/activities/revive.js';
import { readSnapsets } from '../src/openstack/snapset-store.js';
import { groupSnapsets, newestComplete, selectLatest, setProblems, snapsetOf, type StoreImage } from '../src/shared/snapset/index.js';
import { stackOfCaptureWorkflowId } from '../src/shared/workflow-api.js';
import { runOnce, startSim, type SimFixture } from './fixtures/openstack/sim.js';
import { DAY, seedImages } from './helpers/snapset-store.js';

describe('latest and revive choose alike (simulator over HTTP)', () => {
  let f: SimFixture;
  const now = Date.now();
  before(async () => {
    // Two complete sets of the same stack made in the same second (Glance has whole seconds), an
    // older complete one, and a newer incomplete one; seeded in an order that favours neither.
    f = await startSim({
      images: seedImages(
        [
          { snapId: 'TieZZZZZ', ago: DAY },
          { snapId: 'TieAAAAA', ago: DAY },
          { snapId: 'Older000', ago: 2 * DAY },
          { snapId: 'Newer-in', ago: 0, tags: 'seed' },
        ],
        now,
      ),
    });
  });
  after(async () => {
    await f.close();
  });

  test('on equal created_at, snapset latest and reviveSnapset pick the same set: the one tie-break', async () => {
    const c = await f.provider.client();
    const sets = await readSnapsets(c, { stackName: 'hs-sno-1' });
    const tied = sets.filter((s) => s.snapId.startsWith('Tie'));
    assert.equal(tied.length, 2);
    assert.equal(tied[0]!.createdAt, tied[1]!.createdAt, 'the two sets really are tied');
    const latest = selectLatest(sets, { stackName: 'hs-sno-1', now });
    assert.ok(latest.found, JSON.stringify(latest));
    const revive = withFailureMapping(createReviveActivities({ openstack: f.provider }));
    const found = await runOnce(revive.findReviveSet, { stackName: 'hs-sno-1' });
    assert.equal(found.set?.snapId, latest.latest.snapId, 'revive chose the set latest chose');
    assert.equal(latest.latest.snapId, 'TieAAAAA', 'ties go by snap_id in code-unit order');
    assert.equal(found.set?.createdAt, latest.latest.createdAt, 'and both date it alike');
    assert.equal(found.seen[0]?.snapId, 'Newer-in', 'the newer incomplete set was seen and passed over');
    assert.equal(found.seen[0]?.complete, false);
  });
});

describe('the SnapSet model (pure)', () => {
  const img = (id: string, snapId: string, createdAt: string, over: Partial<StoreImage> = {}): StoreImage => ({
    id,
    name: `hotstack-${id}-snapshot-${snapId}`,
    status: 'active',
    tags: ['hotstack', 'hotstack-snapset', `name=${id}`, 'role=r', `snap_id=${snapId}`, 'mac_address=fa:16:3e:00:00:01', 'snapset_complete'],
    created_at: createdAt,
    properties: { hotstack_snap_id: snapId, hotstack_set_size: '2', hotstack_stack_name: 's' },
    ...over,
  });

  test('a set is dated by its newest image and expires 30 days later', () => {
    const set = snapsetOf('AAAAAAAA', [img('a', 'AAAAAAAA', '2026-11-01T10:00:00Z'), img('b', 'AAAAAAAA', '2026-11-01T10:05:00Z')]);
    assert.equal(set.createdAt, '2026-11-01T10:05:00Z');
    assert.equal(set.firstCreatedAt, '2026-11-01T10:00:00Z');
    assert.equal(set.expiresAt, '2026-12-01T10:05:00Z');
    assert.deepEqual(set.problems, []);
  });

  test('newest-first is one order whatever order the images come in', () => {
    const images = ['BBBBBBBB', 'AAAAAAAA', 'CCCCCCCC'].flatMap((s) => [img(`a${s}`, s, '2026-11-01T10:00:00Z'), img(`b${s}`, s, '2026-11-01T10:00:00Z')]);
    const orders = [images, [...images].reverse()].map((list) => groupSnapsets(list).map((s) => s.snapId));
    assert.deepEqual(orders, [
      ['AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC'],
      ['AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC'],
    ]);
    assert.equal(newestComplete(groupSnapsets(images))?.snapId, 'AAAAAAAA');
  });

  test('one list of problems: a missing hotstack_set_size, two images of one instance, images of two stacks', () => {
    const t = '2026-11-01T10:00:00Z';
    assert.deepEqual(setProblems('AAAAAAAA', [img('a', 'AAAAAAAA', t, { properties: { hotstack_snap_id: 'AAAAAAAA' } })]), [
      'set size unknown (no hotstack_set_size property)',
    ]);
    assert.deepEqual(setProblems('AAAAAAAA', [img('a', 'AAAAAAAA', t), img('x', 'AAAAAAAA', t, { tags: [...img('a', 'AAAAAAAA', t).tags] })]), [
      'a: 2 images (a, x)',
    ]);
    const other = img('b', 'AAAAAAAA', t, { properties: { hotstack_snap_id: 'AAAAAAAA', hotstack_set_size: '2', hotstack_stack_name: 'other' } });
    assert.deepEqual(setProblems('AAAAAAAA', [img('a', 'AAAAAAAA', t), other]), ['images of several stacks: other, s']);
    assert.equal(snapsetOf('AAAAAAAA', [img('a', 'AAAAAAAA', t), other]).stackName, null, 'a set of two stacks is of no stack');
  });

  test("the capture's verification is the same rule, with the run's own images and exact tags, before the marker", () => {
    const t = '2026-11-01T10:00:00Z';
    const unmarked = (id: string) => img(id, 'AAAAAAAA', t, { tags: img(id, 'AAAAAAAA', t).tags.filter((x) => x !== 'snapset_complete') });
    const expected = {
      a: { imageId: 'a', tags: [...unmarked('a').tags] },
      b: { imageId: 'b', tags: [...unmarked('b').tags.slice(0, 5), 'mac_address=fa:16:3e:00:00:02'] },
    };
    assert.deepEqual(setProblems('AAAAAAAA', [unmarked('a'), unmarked('b')], { expected, requireMarker: false }), [
      'b: tags missing: mac_address=fa:16:3e:00:00:02',
    ]);
    assert.deepEqual(setProblems('AAAAAAAA', [unmarked('a')], { expected: { a: expected.a }, requireMarker: false }), ['1 of 2 images']);
    assert.deepEqual(
      setProblems('AAAAAAAA', [unmarked('a'), unmarked('b')], { expected: { ...expected, c: { imageId: 'c', tags: [] } }, requireMarker: false }),
      ['c: image c not found', 'b: tags missing: mac_address=fa:16:3e:00:00:02'],
    );
  });

  test('the stack of an older image comes from its capture workflow ID, never from another kind of ID', () => {
    assert.equal(stackOfCaptureWorkflowId('snapset-hs-sno-1'), 'hs-sno-1');
    assert.equal(stackOfCaptureWorkflowId('snapset-hs-sno-1-2026-12-01T02:00:00Z'), 'hs-sno-1', 'a run started by a Schedule');
    for (const id of [
      'snapset-lock-hs-sno-1',
      'snapset-revive-hs-sno-1',
      'snapset-prune-all-20261201T020000000Z',
      'snapset-hs-sno-1-prune',
      'other-hs-sno-1',
    ]) {
      assert.equal(stackOfCaptureWorkflowId(id), undefined, id);
    }
  });
});
