import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDevConfig, parseDevConfig } from '../src/dev/config.js';
import { ConfigError } from '../src/shared/errors.js';

test('temporal-dev.yml of the repository is valid and complete', async () => {
  const cfg = await loadDevConfig();
  assert.equal(cfg.taskQueue, 'hotstack-snapset');
  assert.equal(cfg.devServer.port, 7233);
  assert.equal(cfg.devServer.uiPort, 8233);
  assert.ok(cfg.devServer.dbFile.endsWith('.temporal/dev.sqlite'));
  assert.deepEqual(cfg.searchAttributes, { SnapsetPhase: 'Keyword', SnapId: 'Keyword', StackName: 'Keyword' });
  assert.ok(cfg.simulator && Object.keys(cfg.simulator.instances).length >= 2);
});

test('errors name the file and the key', () => {
  const bad: [string, RegExp][] = [
    ['devServer:\n  port: 99999\n', /x\.yml: devServer\.port: expected a port/],
    ['devServer:\n  uiport: 8233\n', /devServer\.uiport: unknown key/],
    ['searchAttributes:\n  SnapsetPhase: keyword\n', /searchAttributes\.SnapsetPhase/],
    ['taskqueue: x\n', /taskqueue: unknown key/],
    ['simulator:\n  instances:\n    a: {uuid: nope, role: r, mac_address: m}\n', /simulator\.instances\.a\.uuid/],
    ['devServer: [1\n', /not valid YAML/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseDevConfig(text, '/tmp/x.yml'),
      (err: Error) => err instanceof ConfigError && re.test(err.message),
      text,
    );
  }
});

test('an empty file gives the defaults', () => {
  const cfg = parseDevConfig('', '/etc/x/temporal-dev.yml');
  assert.equal(cfg.taskQueue, 'hotstack-snapset');
  assert.equal(cfg.devServer.dbFile, '/etc/x/.temporal/dev.sqlite');
});
