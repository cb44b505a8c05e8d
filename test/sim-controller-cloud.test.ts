/**
 * The controller simulator wired to the real cloud simulator: nodes shut down from inside and the
 * controller's own shutdown turn the Nova servers SHUTOFF, as the capture phase expects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClusterActivities } from '../src/activities/cluster.js';
import { withFailureMapping } from '../src/activities/failures.js';
import { SshConnector } from '../src/cluster/index.js';
import { CONTROLLER_UUID, runActivity, useControllerLab } from './fixtures/cluster/helpers.js';
import { waitFor } from './helpers/wait.js';

const lab = useControllerLab();

test('prepare + shutdown through the activities leaves every Nova server SHUTOFF', async () => {
  const acts = withFailureMapping(createClusterActivities({ ssh: new SshConnector(), clusterPollIntervalMs: 10 }));
  const target = lab.controller.target();
  assert.ok(lab.cloud.servers().every((s) => s.status === 'ACTIVE'));

  await runActivity(acts.uncordonNodes, { controller: target });
  await runActivity(acts.waitClusterStable, { controller: target, minimumStablePeriodSeconds: 60, timeoutSeconds: 1200 });
  const cordon = await runActivity(acts.cordonNodes, { controller: target });
  assert.equal(cordon.result.changed.length, 3);
  const { result } = await runActivity(acts.listNodes, { controller: target });
  const shut = await runActivity(acts.shutdownNodes, { controller: target, nodes: result.nodes.map((n) => n.name) });
  assert.equal(shut.result.scheduled.length, 3);
  const down = await runActivity(acts.shutdownController, { controller: target });
  assert.equal(down.result.outcome, 'connection-dropped');

  await waitFor('every server SHUTOFF', () => lab.cloud.servers().every((s) => s.status === 'SHUTOFF'), {
    seen: () => lab.cloud.servers().map((s) => s.status),
  });
  assert.deepEqual(
    lab.cloud
      .servers()
      .map((s) => [s.id === CONTROLLER_UUID ? 'controller' : s.role, s.status])
      .sort(),
    [
      ['controller', 'SHUTOFF'],
      ['ocp_master', 'SHUTOFF'],
      ['ocp_master', 'SHUTOFF'],
      ['ocp_master', 'SHUTOFF'],
    ],
  );
  assert.ok(lab.controller.nodes().every((n) => n.poweredOff && n.unschedulable));
  assert.ok(lab.controller.controllerDown());
});
