/**
 * SSH connections handed on between a run's cluster steps (src/cluster/reuse.ts, issue 16): counted on
 * the controller simulator's side (TCP connections it accepted), through the real activities and the
 * real ssh2 client. A connection is never handed on once it may be gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClusterActivities } from '../src/activities/cluster.js';
import { withFailureMapping } from '../src/activities/failures.js';
import { ReusingConnector, SshConnector } from '../src/cluster/index.js';
import { activityError, runActivity, useControllerLab } from './fixtures/cluster/helpers.js';
import { waitFor } from './helpers/wait.js';

const lab = useControllerLab();

const activities = (ssh: ReusingConnector) => withFailureMapping(createClusterActivities({ ssh, clusterPollIntervalMs: 10 }));

test('a connection dropped under a step is not handed on: the next step opens a new one', async () => {
  lab.controller.reset();
  const ssh = new ReusingConnector(new SshConnector());
  const acts = activities(ssh);
  const target = lab.controller.target();
  const before = lab.controller.connectionCount();
  await runActivity(acts.listNodes, { controller: target });
  assert.equal(ssh.idleCount(), 1);
  await lab.controller.setFaults({ dropSessions: 1 });
  const err = await activityError(acts.listNodes, { controller: target });
  assert.match(err.message, /dropped|closed/i, err.message);
  assert.equal(ssh.idleCount(), 0, 'the dropped connection is gone from the pool');
  await runActivity(acts.listNodes, { controller: target });
  assert.deepEqual([ssh.opened, ssh.reused, lab.controller.connectionCount() - before], [2, 1, 2]);
  ssh.close();
});

test('an idle connection closes after the idle time, and all of them at close()', async () => {
  lab.controller.reset();
  const ssh = new ReusingConnector(new SshConnector(), 300);
  const acts = activities(ssh);
  const target = lab.controller.target();
  const before = lab.controller.connectionCount();
  await runActivity(acts.listNodes, { controller: target });
  assert.equal(ssh.idleCount(), 1);
  await waitFor('the idle connection to close', () => ssh.idleCount() === 0);
  await runActivity(acts.listNodes, { controller: target });
  assert.deepEqual([ssh.opened, ssh.reused, lab.controller.connectionCount() - before], [2, 0, 2], 'a new connection after the idle time');

  ssh.close();
  assert.equal(ssh.idleCount(), 0);
  await runActivity(acts.listNodes, { controller: target });
  assert.equal(ssh.idleCount(), 0, 'after close() nothing is kept');
  assert.equal(ssh.opened, 3);
});

// Last: it shuts the lab down.
test('a run’s cluster steps, from the first check to the controller’s shutdown, use one connection', async () => {
  lab.controller.reset();
  const ssh = new ReusingConnector(new SshConnector());
  const acts = activities(ssh);
  const target = lab.controller.target();
  const before = lab.controller.connectionCount();

  await runActivity(acts.getClusterCreationTime, { controller: target });
  await runActivity(acts.uncordonNodes, { controller: target });
  await runActivity(acts.waitClusterStable, { controller: target, minimumStablePeriodSeconds: 60, timeoutSeconds: 1200 });
  await runActivity(acts.cordonNodes, { controller: target });
  const { result } = await runActivity(acts.listNodes, { controller: target });
  await runActivity(acts.shutdownNodes, { controller: target, nodes: result.nodes.map((n) => n.name) });
  assert.equal(ssh.idleCount(), 1, 'the node shutdowns ran on the controller, which stays up: its connection waits for the next step');
  const down = await runActivity(acts.shutdownController, { controller: target });
  assert.equal(down.result.outcome, 'connection-dropped');

  assert.equal(lab.controller.connectionCount() - before, 1, 'seven steps, one TCP connection accepted by the controller');
  assert.deepEqual([ssh.opened, ssh.reused], [1, 6]);
  assert.equal(ssh.idleCount(), 0, 'the connection a shutdown ran on is not kept');
  await waitFor('every server SHUTOFF', () => lab.cloud.servers().every((s) => s.status === 'SHUTOFF'), {
    seen: () => lab.cloud.servers().map((s) => s.status),
  });
  ssh.close();
});
