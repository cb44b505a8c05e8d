/** What `create`'s and `preflight`'s options make of an input file (src/cli/snapset-input.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSnapsetInput } from '../src/shared/input.js';
import { inputOf } from '../src/cli/snapset-input.js';
import { fixtures } from './helpers/paths.js';

describe('create options → input', () => {
  test('--stack-name works with the seed’s snake_case file and with the camelCase one', async () => {
    for (const file of ['good-seed.yaml', 'good-camel.json']) {
      const raw = await inputOf({ file: fixtures('inputs', file), stackName: 'hs-other-7', certWait: true });
      assert.equal(parseSnapsetInput(raw).stackName, 'hs-other-7', file);
    }
  });

  test('--no-cert-wait skips only the wait: the nodes are still prepared', async () => {
    const raw = await inputOf({ file: fixtures('inputs', 'good-camel.json'), certWait: false });
    const input = parseSnapsetInput(raw);
    assert.equal(input.prepare.enabled, true, 'cordon and node shutdown stay');
    assert.equal(input.prepare.certRotationWait, 0);
  });
});
