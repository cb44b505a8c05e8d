/**
 * What a user does next about a failure, by its type (the error class name). Pure: used by the
 * workflows to write failure messages and by the CLI. Types whose message already says what to do
 * (preflight, the stack lock, validation) have no extra hint.
 */
import { FailureTypes } from './errors.js';

const HINTS: Record<string, string> = {
  [FailureTypes.config]: 'fix the worker’s configuration (clouds.yaml, key files), then start the SnapSet again',
  [FailureTypes.cloudConfig]:
    'put clouds.yaml in ./, ~/.config/openstack/ or /etc/openstack/ on the worker (or set OS_CLIENT_CONFIG_FILE) and name the cloud with `cloud` or OS_CLOUD',
  [FailureTypes.unauthorized]: 'the cloud refused the worker’s credentials: check clouds.yaml / secure.yaml on the worker',
  [FailureTypes.notFound]: 'something the run relies on is gone from the cloud: check the instance UUIDs in snapset_data',
  [FailureTypes.resourceFailed]:
    'the cloud failed a snapshot (every attempt capture.imageAttempts allowed): check Nova/Glance (quota, storage), then finish the set with `snapset retry <stack>` (the VMs are still SHUTOFF) or start them with openstack server start if you need the lab',
  [FailureTypes.waitTimeout]:
    'a VM did not reach the wanted state in time: raise capture.shutoffTimeout / capture.imageTimeout, or set capture.forceStopAfter to stop stragglers through Nova',
  [FailureTypes.hostKey]: 'pin the controller’s key as controller.hostKeyFingerprint (ssh-keygen -lf) or add it to known_hosts on the worker',
  [FailureTypes.sshAuth]: 'check controller.privateKeyFile (read on the worker’s machine), the worker’s ssh-agent and controller.user',
  [FailureTypes.sshConnection]: 'the controller did not answer over SSH: check controller.host / port and that the worker can reach it',
  [FailureTypes.clusterWaitTimeout]: 'the cluster did not settle in time: check `oc get co` on the controller; raise prepare.stableTimeout if it is just slow',
  [FailureTypes.verification]: 'an image of the set is not as it should be: the set was not marked complete; start the SnapSet again',
  [FailureTypes.consistencyLost]:
    'leave the VMs SHUTOFF while a SnapSet is captured; shut the lab down again (or start a new SnapSet with prepare) to take a consistent set',
  TimeoutFailure: 'no worker finished the step in time: check that a worker polls the task queue (snapset runs / the Web UI’s Workers tab)',
};

/** A hint for a failure type, or undefined when its message already says what to do. */
export function failureHint(type: string, _details?: unknown): string | undefined {
  return HINTS[type];
}

/** `{controller: SHUTOFF, master0: ACTIVE, master1: SHUTOFF}` → `2 SHUTOFF, 1 ACTIVE (master0)`: the minority named. */
export function describeStatuses(statuses: Record<string, string>): string {
  const by = new Map<string, string[]>();
  for (const [name, s] of Object.entries(statuses)) by.set(s, [...(by.get(s) ?? []), name]);
  const groups = [...by].sort((a, b) => b[1].length - a[1].length);
  return groups.map(([s, ns], i) => (i === 0 && groups.length > 1 ? `${ns.length} ${s}` : `${ns.length} ${s} (${ns.join(', ')})`)).join(', ');
}
