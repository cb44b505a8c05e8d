import { ApplicationFailure, patched, upsertSearchAttributes, setHandler } from '@temporalio/workflow';
import { formatDuration } from '../shared/duration.js';
import { FailureTypes, type PreflightCheck } from '../shared/errors.js';
import { parseSnapsetInputWithNotes, type SnapsetInput } from '../shared/input.js';
import { progressQuery, StackNameKey, stackLockWorkflowId, type RunProgress } from '../shared/workflow-api.js';
import type { PreflightServer } from '../activities/snapset-images.js';
import type { AttachedVolume } from '../shared/snapset/index.js';
import { isoAt, workflowNow } from './clock.js';
import { checks, failureInfo, PATCHES, quick, RunTracker, step, validateInput } from './common.js';

export interface PreflightOutcome {
  servers: Record<string, PreflightServer>;
  /** Instance name → its attached Cinder volumes (absent in runs that began before volumes were read). */
  volumes?: Record<string, AttachedVolume[]>;
  nodes: { name: string; ready: boolean; unschedulable: boolean; instance?: string }[];
  checks: PreflightCheck[];
  /** The controller's VM was already SHUTOFF (allowed only without node preparation). */
  controllerShutoff: boolean;
  /**
   * Every VM was already SHUTOFF (a failed capture leaves the lab so) and the cluster is known to be old
   * enough for the certificate rotation: the lab is captured as it is, the nodes are not prepared.
   */
  labShutoff?: boolean;
}

/**
 * DESIGN §5 step 1b: every read-only check, before the first change — cloud credentials, every
 * instance's server, the image service, SSH to the controller with the expected host key, `oc` and
 * the nodes. A failed check throws a non-retryable PreflightError saying what to do.
 */
export async function runPreflight(input: SnapsetInput, run: RunTracker<string>, why: string): Promise<PreflightOutcome> {
  const cloud = input.cloud ? { cloud: input.cloud } : {};
  const { controller } = input;
  const instances = input.snapsetData.instances;
  const names = Object.keys(instances);
  run.enter('preflight', `${why}: cloud credentials, ${names.length} servers, image service`);
  const cloudCheck = await step(quick().checks.preflightCloud, `preflight: cloud and ${names.length} servers`, {
    ...cloud,
    instances: Object.fromEntries(names.map((n) => [n, instances[n]!.uuid])),
    // Activity input only (no command): what preflight reads of the volumes, for the capture's plan.
    volumes: {
      mode: input.capture.volumes ?? 'snapshot',
      explicit: Object.fromEntries(names.flatMap((n) => (instances[n]!.volumes ? [[n, instances[n]!.volumes!]] : []))),
    },
  });
  const volumes = cloudCheck.volumes ? { volumes: cloudCheck.volumes } : {};
  // The controller's own VM, when snapset_data lists it: already SHUTOFF means there is nobody to SSH to.
  const ctlInstance = names.find((n) => n === controller.name) ?? names.find((n) => instances[n]!.role === 'controller');
  if (ctlInstance && cloudCheck.servers[ctlInstance]?.status === 'SHUTOFF') {
    if (input.prepare.enabled) {
      const allShutoff = names.every((n) => cloudCheck.servers[n]?.status === 'SHUTOFF');
      const installed = input.prepare.clusterCreatedAt;
      const oldEnough = installed !== undefined && workflowNow() >= Date.parse(installed) + input.prepare.certRotationWait;
      if (allShutoff && oldEnough && patched(PATCHES.shutoffLab)) {
        run.warn(
          `every VM is already SHUTOFF and the cluster was installed at ${installed}, more than ${formatDuration(input.prepare.certRotationWait)} ago: capturing the lab as it is, without preparing the nodes`,
        );
        return { servers: cloudCheck.servers, ...volumes, nodes: [], checks: cloudCheck.checks, controllerShutoff: true, labShutoff: true };
      }
      throw ApplicationFailure.create({
        type: FailureTypes.preflight,
        nonRetryable: true,
        message: allShutoff
          ? `preflight failed, nothing was changed: every VM of the lab is SHUTOFF (a failed capture leaves it so), and the nodes are prepared through controller ${ctlInstance}. To finish the failed run's SnapSet, retry it from its capture (snapset retry ${input.stackName}, or the Web UI's Reset to the workflow task that scheduled captureImages); to capture the lab as it is, give prepare.clusterCreatedAt (the install time, at least ${formatDuration(input.prepare.certRotationWait)} ago) or set prepare.enabled: false`
          : `preflight failed, nothing was changed: controller ${ctlInstance} is SHUTOFF in Nova, and the nodes are prepared through it (start it: openstack server start ${instances[ctlInstance]!.uuid}, or set prepare.enabled: false when the nodes are already down)`,
      });
    }
    run.warn(`controller ${ctlInstance} is already SHUTOFF: not checked over SSH and not shut down again`);
    return { servers: cloudCheck.servers, ...volumes, nodes: [], checks: cloudCheck.checks, controllerShutoff: true };
  }
  run.say(`${why}: controller ${controller.user}@${controller.host}:${controller.port} over SSH${input.prepare.enabled ? ' and oc' : ''}`);
  const ctl = await step(quick().checks.preflightController, `preflight: controller ${controller.name}${input.prepare.enabled ? ' and oc' : ''}`, {
    controller,
    instances: Object.fromEntries(
      names.map((n) => [n, { role: instances[n]!.role, ...(cloudCheck.servers[n] ? { serverName: cloudCheck.servers[n].serverName } : {}) }]),
    ),
    checkCluster: input.prepare.enabled,
  });
  for (const w of ctl.warnings) run.warn(w);
  return { servers: cloudCheck.servers, ...volumes, nodes: ctl.nodes, checks: [...cloudCheck.checks, ...ctl.checks], controllerShutoff: false };
}

export interface PreflightReport extends PreflightOutcome {
  stackName: string;
  /** The run holding the stack right now, if any (a createSnapset started now would be refused). */
  stackHeldBy?: string;
  warnings: string[];
}

/**
 * `snapset preflight` / `snapset create --dry-run`: validation and every preflight check of a
 * createSnapset input, changing nothing and taking no lock. Runs on a worker, so it checks what the
 * real run would see (the worker's clouds.yaml, keys and network).
 */
export async function preflightSnapset(rawInput: unknown): Promise<PreflightReport> {
  const progress: RunProgress<string> = { phase: 'validating', phasesRun: [], details: 'validating input', startedAt: isoAt(workflowNow()) };
  setHandler(progressQuery, () => progress as never);
  const run = new RunTracker<string>(progress);
  const input: SnapsetInput = validateInput(rawInput, run, parseSnapsetInputWithNotes);
  upsertSearchAttributes([{ key: StackNameKey, value: input.stackName }]);
  try {
    const holder = await checks.describeStackLock({ lockWorkflowId: stackLockWorkflowId(input.stackName) });
    const outcome = await runPreflight(input, run, 'dry run');
    run.enter('completed', `every check passed${progress.warnings!.length ? ` (${progress.warnings!.length} warning(s))` : ''}; nothing was changed`);
    return {
      stackName: input.stackName,
      ...outcome,
      ...(holder.held ? { stackHeldBy: holder.workflowId ?? holder.lockWorkflowId } : {}),
      warnings: [...progress.warnings!],
    };
  } catch (err) {
    progress.failure = failureInfo(err);
    run.enter('failed', `failed: ${progress.failure.message}; nothing was changed`);
    throw ApplicationFailure.create({
      type: progress.failure.type,
      message: `${progress.failure.message}${progress.failure.hint ? ` — ${progress.failure.hint}` : ''}`,
      nonRetryable: true,
      details: [progress.failure],
    });
  }
}
