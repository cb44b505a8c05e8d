/**
 * Snap IDs a shell can pass (issue 17 point 5): new ones never start with `-` (otherwise the seed's
 * alphabet and bytes), and an existing one that does is accepted after `--`, with a hint when
 * commander reads it as an option.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { SNAP_ID, snapIdFromUuid, snapIdFromUuidNoDash } from '../src/shared/snapset/index.js';
import { startSimulator } from '../src/sim/index.js';
import { runSnapset } from './helpers/processes.js';
import { HOUR, scenarioWithSets } from './helpers/snapset-store.js';

/** A v4 UUID whose first byte is given (the rest random). */
function uuidWithFirstByte(b: number): string {
  const bytes = randomBytes(16);
  bytes[0] = b;
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('snap IDs never start with -', () => {
  test('property: over 200 000 random UUIDs, a snap_id of 8 URL-safe base64 characters, never starting with -, else the seed generator’s', () => {
    let dashBefore = 0;
    const firsts = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const uuid = randomUUID();
      const old = snapIdFromUuid(uuid);
      const id = snapIdFromUuidNoDash(uuid);
      assert.match(id, SNAP_ID);
      assert.ok(!id.startsWith('-'), `${uuid} → ${id}`);
      assert.equal(id, snapIdFromUuidNoDash(uuid), 'deterministic (replay)');
      if (old.startsWith('-')) {
        dashBefore++;
        assert.equal(id.slice(1), old.slice(1), 'only the first character changes');
      } else {
        assert.equal(id, old, 'unchanged when it did not start with -');
      }
      firsts.add(id[0]!);
    }
    // 1 in 64 started with '-': about 3125 of 200 000.
    assert.ok(dashBefore > 2500 && dashBefore < 3800, `${dashBefore} of 200000 started with - before`);
    assert.equal(firsts.size, 63, 'the first character ranges over the alphabet minus -');
    assert.ok(!firsts.has('-'));
  });

  test('every first byte that made a leading - (0xf8–0xfb) now makes another character, spread over the alphabet', () => {
    const seen = new Map<string, number>();
    for (const b of [0xf8, 0xf9, 0xfa, 0xfb]) {
      for (let i = 0; i < 2000; i++) {
        const uuid = uuidWithFirstByte(b);
        assert.ok(snapIdFromUuid(uuid).startsWith('-'));
        const first = snapIdFromUuidNoDash(uuid)[0]!;
        assert.notEqual(first, '-');
        seen.set(first, (seen.get(first) ?? 0) + 1);
      }
    }
    assert.ok(seen.size >= 60, `replacement characters: ${[...seen.keys()].join('')}`);
  });
});

describe('snapset CLI with a snap_id starting with -', () => {
  test('show -- -AbCdEfG reads the set; without -- the error says how to pass it', async () => {
    const sim = await startSimulator(scenarioWithSets([{ snapId: '-AbCdEfG', ago: 2 * HOUR }]));
    try {
      // Temporal is unreachable on purpose: the set is read from Glance only.
      const env = { OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName, TEMPORAL_ADDRESS: '127.0.0.1:1' };
      const shown = await runSnapset(['show', '--', '-AbCdEfG'], { env });
      assert.equal(shown.code, 0, shown.output);
      assert.match(shown.output, /^SnapSet -AbCdEfG of stack hs-sno-1/m);
      assert.match(shown.output, /complete: 2 images/);

      const asJson = await runSnapset(['show', '--json', '--', '-AbCdEfG'], { env });
      assert.equal(asJson.code, 0, asJson.output);
      assert.equal((JSON.parse(asJson.output) as { snapId: string }).snapId, '-AbCdEfG');

      const bare = await runSnapset(['show', '-AbCdEfG'], { env });
      assert.equal(bare.code, 2, bare.output);
      assert.match(
        bare.output,
        /unknown option '-AbCdEfG'\nsnapset: -AbCdEfG looks like a snap_id: put it after -- so it is not read as an option: snapset show -- -AbCdEfG/,
      );

      const del = await runSnapset(['delete', '--yes', '-AbCdEfG'], { env });
      assert.equal(del.code, 2, del.output);
      assert.match(del.output, /snapset delete -- -AbCdEfG/);

      const notSnapId = await runSnapset(['show', '--bogus'], { env });
      assert.equal(notSnapId.code, 2);
      assert.doesNotMatch(notSnapId.output, /looks like a snap_id/);
    } finally {
      await sim.close();
    }
  });
});
