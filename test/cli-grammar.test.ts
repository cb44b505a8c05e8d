/**
 * One grammar for every verb (issue 17 point 6): `--stack` wherever a stack is meant (`--stack-name`
 * a hidden alias, the positional kept where it reads naturally), `--cloud` with the `OS_CLOUD`
 * default wherever a cloud is read, `--json` on every read verb. Read from each verb's `--help` and
 * by running the verbs (nothing needs to answer: a closed Temporal port shows parsing got through).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sampleInput } from './helpers/inputs.js';
import { closedPort, runSnapset } from './helpers/processes.js';
import { useTempDir } from './helpers/temporal.js';

const help = async (...verb: string[]) => {
  const r = await runSnapset([...verb, '--help']);
  assert.equal(r.code, 0, r.output);
  return r.output;
};

describe('one grammar for every verb', () => {
  const tmp = useTempDir('snapset-grammar-');

  test('--stack where a stack is meant, never --stack-name in the help; --cloud with OS_CLOUD; --json on read verbs', async () => {
    for (const verb of ['create', 'preflight', 'watch', 'cancel', 'skip-wait', 'retry', 'runs', 'list', 'latest', 'prune', 'revive']) {
      const text = await help(verb);
      assert.match(text, /--stack <name>/, `${verb} takes --stack`);
      assert.doesNotMatch(text, /--stack-name/, `${verb}: --stack-name is hidden`);
    }
    for (const verb of ['watch', 'show', 'list', 'latest', 'delete', 'prune', 'revive']) {
      assert.match(await help(verb), /--cloud <name>[\s\S]*\(env: OS_CLOUD\)/, `${verb}: --cloud defaults to OS_CLOUD`);
    }
    for (const verb of [['list'], ['show'], ['latest'], ['runs'], ['schedule', 'list'], ['schedule', 'describe']]) {
      assert.match(await help(...verb), /--json/, `${verb.join(' ')} has --json`);
    }
  });

  test('--stack and the hidden --stack-name both name the stack of create; watch/cancel take the stack as argument or --stack', async () => {
    const file = join(tmp.path, 'input.json');
    await writeFile(file, JSON.stringify(sampleInput()));
    const env = { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
    for (const flag of ['--stack', '--stack-name']) {
      // Past parsing and validation: only Temporal is missing (3).
      const ok = await runSnapset(['create', '-f', file, flag, 'hs-other'], { env });
      assert.equal(ok.code, 3, `${flag}: ${ok.output}`);
      const bad = await runSnapset(['create', '-f', file, flag, 'bad name'], { env });
      assert.equal(bad.code, 2, `${flag}: ${bad.output}`);
      assert.match(bad.output, /"bad name" is not a stack name/);
    }
    for (const args of [
      ['watch', 'hs-a'],
      ['watch', '--stack', 'hs-a'],
      ['cancel', '--stack', 'hs-a'],
      ['retry', '--stack', 'hs-a', '--yes'],
      ['skip-wait', '--stack', 'hs-a', '--reason', 'rotated by hand today'],
    ]) {
      const r = await runSnapset(args, { env });
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.output}`);
    }
    const none = await runSnapset(['cancel'], { env });
    assert.equal(none.code, 2, none.output);
    assert.match(none.output, /--stack: required: the stack name \(or a workflow ID\), as the argument or --stack/);
  });
});
