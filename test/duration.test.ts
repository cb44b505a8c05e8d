import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationMs, formatDuration, parseDuration } from '../src/shared/duration.js';

test('durations parse as people write them', () => {
  assert.equal(parseDuration('25h'), 25 * 3600_000);
  assert.equal(parseDuration('60s'), 60_000);
  assert.equal(parseDuration('1h30m'), 90 * 60_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2d'), 2 * 86_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(' 10s '), 10_000);
});

test('anything else is refused', () => {
  for (const bad of ['', '60', '25 hours', 'h', '-5s', '5x', '1h 30m', 'PT25H']) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
  assert.throws(() => durationMs('soon'), /not a duration: "soon"/);
});

test('formatting round-trips whole units', () => {
  assert.equal(formatDuration(90_061_000), '25h1m1s');
  assert.equal(formatDuration(2 * 86_400_000 + 3_600_000), '2d1h');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(parseDuration('25h')!), '25h', 'the certificate wait as people write it');
  for (const s of ['25h', '1h30m', '500ms', '2d', '30d']) assert.equal(formatDuration(parseDuration(s)!), s);
});
