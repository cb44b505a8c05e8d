import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { ValidationError } from '../src/shared/errors.js';
import { findSecrets, fromStackOutputs, LIMITS, parseSnapsetInput, parseSnapsetInputWithNotes, stackNameFromOutputsFile } from '../src/shared/input.js';
import { fixtures } from './helpers/paths.js';

const load = (file: string): unknown => {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
};

function rejection(raw: unknown): ValidationError {
  try {
    parseSnapsetInput(raw);
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    return err;
  }
  assert.fail('input was accepted');
}

describe('createSnapset input', () => {
  test('camelCase input of DESIGN §5 is accepted with its values', () => {
    const input = parseSnapsetInput(load(fixtures('inputs', 'good-camel.json')));
    assert.equal(input.stackName, 'hs-sno-1');
    assert.equal(input.cloud, 'sim');
    assert.deepEqual(Object.keys(input.snapsetData.instances), ['controller', 'master0']);
    assert.equal(input.capture.maxParallelImages, 8);
    assert.equal(input.capture.forceStopAfter, 5 * 60_000, 'durations are parsed once, to milliseconds');
    assert.deepEqual(input.retention, { keep: 3, maxAge: 30 * 86_400_000 });
  });

  test('the seed snake_case variables map to the same canonical input', () => {
    const seed = parseSnapsetInput(load(fixtures('inputs', 'good-seed.yaml')));
    const camel = parseSnapsetInput(load(fixtures('inputs', 'good-camel.json')));
    assert.deepEqual(seed.snapsetData, camel.snapsetData);
    assert.deepEqual(seed.controller, { name: 'controller', host: '192.168.1.100', port: 22, user: 'cloud-user', privateKeyFile: '~/.ssh/id_rsa' });
    assert.equal(seed.cloud, 'sim');
  });

  test('defaults follow the seed: 25 h wait, 60 s stable period, 25 x 10 s shutoff, 1200 s images, cleanup', () => {
    const raw = load(fixtures('inputs', 'good-camel.json')) as Record<string, unknown>;
    delete raw.prepare;
    delete raw.capture;
    delete raw.retention;
    const input = parseSnapsetInput(raw);
    assert.deepEqual(input.prepare, { enabled: true, certRotationWait: 25 * 3_600_000, stablePeriod: 60_000, stableTimeout: 20 * 60_000 });
    assert.deepEqual(input.capture, {
      shutoffTimeout: 250_000,
      shutoffPollInterval: 10_000,
      imageTimeout: 1_200_000,
      imagePollInterval: 5_000,
      imageAttempts: 3,
      imageRetryDelay: 10_000,
      onFailure: 'cleanup',
      volumes: 'snapshot',
    });
    assert.equal(input.retention, undefined);
  });

  test('a hotstack outputs file is accepted as is; only the two SnapSet outputs are kept', () => {
    const file = fixtures('inputs', 'hs-sno-1-outputs.yaml');
    const picked = fromStackOutputs(load(file), stackNameFromOutputsFile(file));
    assert.deepEqual(Object.keys(picked).sort(), ['controller_ansible_host', 'snapset_data', 'stack_name']);
    assert.ok(!JSON.stringify(picked).includes('pullSecret'), 'pull secret must not reach workflow input');
    const input = parseSnapsetInput(picked);
    assert.equal(input.stackName, 'hs-sno-1');
    assert.equal(input.controller.host, '192.168.122.10');
    assert.deepEqual(Object.keys(input.snapsetData.instances), ['controller-0', 'master0']);
  });

  test('stack outputs without the SnapSet keys name what is missing', () => {
    assert.throws(
      () => fromStackOutputs({ controller_floating_ip: '1.2.3.4' }),
      (err: ValidationError) => {
        assert.deepEqual(err.issues.map((i) => i.path).sort(), ['controller_ansible_host', 'snapset_data', 'stack_name']);
        return true;
      },
    );
    assert.equal(stackNameFromOutputsFile('/x/hs-sno-2-outputs.yml'), 'hs-sno-2');
    assert.equal(stackNameFromOutputsFile('outputs.yaml'), undefined);
  });

  test('secret scan allows key *file* paths and refuses key material and secret-named keys', () => {
    assert.deepEqual(findSecrets({ privateKeyFile: '~/.ssh/id_rsa', ansible_ssh_private_key_file: 'k' }), []);
    assert.deepEqual(
      findSecrets({ a: { b: [{ api_key: 'x' }] } }).map((i) => i.path),
      ['a.b.0.api_key'],
    );
    assert.deepEqual(
      findSecrets({ note: '-----BEGIN RSA PRIVATE KEY-----' }).map((i) => i.path),
      ['note'],
    );
  });

  test('every problem is reported, not only the first', () => {
    const err = rejection({
      stackName: 'x',
      controller: { name: 'c', host: 'h', user: 'u', port: 0 },
      snapsetData: { instances: { a: { uuid: 'nope', role: '', mac_address: 'zz' } } },
    });
    const paths = err.issues.map((i) => i.path);
    for (const p of ['controller.port', 'snapsetData.instances.a.uuid', 'snapsetData.instances.a.role', 'snapsetData.instances.a.mac_address']) {
      assert.ok(paths.includes(p), `${p} missing from ${paths.join(', ')}`);
    }
  });
});

describe('bad-input corpus (test/fixtures/inputs/bad)', () => {
  const dir = fixtures('inputs', 'bad');
  const expectations = JSON.parse(readFileSync(`${dir}/expectations.json`, 'utf8')) as Record<string, string>;
  const files = readdirSync(dir).filter((f) => f !== 'expectations.json');

  test('the corpus has at least 25 inputs, JSON and YAML, each with an expected field', () => {
    assert.ok(files.length >= 25, `only ${files.length} bad inputs`);
    assert.ok(files.some((f) => f.endsWith('.json')) && files.some((f) => f.endsWith('.yaml')));
    assert.deepEqual(files.slice().sort(), Object.keys(expectations).sort());
  });

  for (const file of files) {
    test(`${file} is refused, naming ${expectations[file]}`, () => {
      const err = rejection(load(`${dir}/${file}`));
      const expected = expectations[file] === '(root)' ? '' : expectations[file];
      assert.ok(
        err.issues.some((i) => i.path === expected && i.message.length > 0),
        `no issue at ${expectations[file]}: ${err.message}`,
      );
      assert.ok(err.message.includes(expectations[file]!), 'the message names the field');
      assert.equal(err.retryable, false);
    });
  }

  test('the seed’s example MAC fa:16:9e:81:f6:5 and uppercase MACs are accepted in canonical form, and the change is noted', () => {
    const raw = load(fixtures('inputs', 'good-camel.json')) as { snapsetData: { instances: Record<string, { mac_address: string }> } };
    raw.snapsetData.instances.controller!.mac_address = 'fa:16:9e:81:f6:5';
    raw.snapsetData.instances.master0!.mac_address = 'FA-16-9E-81-F6-10';
    const { input, notes } = parseSnapsetInputWithNotes(raw);
    assert.equal(input.snapsetData.instances.controller!.mac_address, 'fa:16:9e:81:f6:05');
    assert.equal(input.snapsetData.instances.master0!.mac_address, 'fa:16:9e:81:f6:10');
    assert.deepEqual(notes, [
      'instances.controller.mac_address fa:16:9e:81:f6:5 normalized to fa:16:9e:81:f6:05',
      'instances.master0.mac_address FA-16-9E-81-F6-10 normalized to fa:16:9e:81:f6:10',
    ]);
    assert.match(
      rejection({ ...raw, snapsetData: { instances: { a: { uuid: '6f4512de-f744-4979-8ab2-45f5461e304c', role: 'x', mac_address: 'fa:16:9e:81:f6' } } } })
        .message,
      /mac_address/,
    );
    assert.match(
      rejection({ ...raw, snapsetData: { instances: { a: { uuid: '6f4512de-f744-4979-8ab2-45f5461e304c', role: 'x', mac_address: 'fa:16-9e:81:f6:05' } } } })
        .message,
      /mac_address/,
      'mixed separators',
    );
  });

  test('an instance named __proto__ (or another Object.prototype key) is refused, not silently dropped', () => {
    const raw = JSON.parse(readFileSync(fixtures('inputs', 'good-camel.json'), 'utf8').replace('"master0":', '"__proto__":')) as unknown;
    const err = rejection(raw);
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['snapsetData.instances.__proto__'],
    );
    const seed = YAML.parse(readFileSync(fixtures('inputs', 'good-seed.yaml'), 'utf8').replace('master0:', 'constructor:')) as unknown;
    assert.deepEqual(
      rejection(seed).issues.map((i) => i.path),
      ['snapset_data.instances.constructor'],
    );
  });

  test('caps: instances per set, string length and nesting depth give clear errors, never a stack overflow', () => {
    const base = load(fixtures('inputs', 'good-camel.json')) as Record<string, unknown> & { controller: Record<string, unknown> };
    const many = Object.fromEntries(
      Array.from({ length: LIMITS.instances + 1 }, (_, i) => [
        `vm${i}`,
        { uuid: `6f4512de-f744-4979-8ab2-${String(i).padStart(12, '0')}`, role: 'worker', mac_address: 'fa:16:9e:81:f6:05' },
      ]),
    );
    assert.match(rejection({ ...base, snapsetData: { instances: many } }).message, /snapsetData\.instances: expected at most 500 instances \(got 501\)/);
    const longPath = rejection({ ...base, controller: { ...base.controller, privateKeyFile: `/${'k'.repeat(1_000_000)}` } });
    assert.deepEqual(
      longPath.issues.map((i) => i.path),
      ['controller.privateKeyFile'],
    );
    assert.ok(longPath.message.length < 500, 'the 1 MB value is not echoed');
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 5000; i++) deep = (deep.x = {}) as Record<string, unknown>;
    const nested = rejection({ ...base, prepare: top });
    assert.match(nested.message, /nested deeper than 16 levels/);
    assert.match(nested.issues[0]!.path, /^prepare\.x\.x/);
  });
});
