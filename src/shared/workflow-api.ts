/**
 * Names shared by workflows, clients, the CLI and tests (STYLE: samples' `shared.ts`).
 * Pure: imported by workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PreflightCheck } from './errors.js';
import type { Phase } from './types.js';

export const TASK_QUEUE = 'hotstack-snapset';

// ---- workflow IDs -------------------------------------------------------------------------------
//
// Every workflow ID the project makes is built here. Each kind is `snapset-` + a fixed word + `-` +
// the stack, except the capture's, which is `snapset-<stack>` (the ID clients, schedules and older
// images already use, so it cannot change). A stack name therefore may not be a reserved word nor
// start with one and a dash, nor end with the retention child's `-prune`: validation refuses such
// names (`stackNameProblem`), and then no kind's ID can equal another kind's for any valid stack
// name (test/workflow-ids.test.ts). Changing an ID that running workflows use would break them:
// add kinds, never reshape these.

/** Words that follow `snapset-` in the IDs of kinds other than the capture: no stack name is one or starts with one and `-`. */
export const RESERVED_STACK_WORDS = ['lock', 'revive', 'prune', 'delete', 'preflight'] as const;
/** The retention child of a capture is `<capture ID>-prune`: no stack name ends with it. */
export const RESERVED_STACK_SUFFIXES = ['-prune'] as const;

/** Why a stack name cannot be used in workflow IDs, or undefined when it can. */
export function stackNameProblem(stackName: string): string | undefined {
  const word = RESERVED_STACK_WORDS.find((w) => stackName === w || stackName.startsWith(`${w}-`));
  if (word) {
    const what = stackName === word ? `be "${word}"` : `start with "${word}-"`;
    return `a stack name may not ${what}: snapset-${stackName}${stackName === word ? '-prune' : ''} would be the ID of another kind of workflow (reserved: ${RESERVED_STACK_WORDS.join(', ')})`;
  }
  const suffix = RESERVED_STACK_SUFFIXES.find((p) => stackName.endsWith(p));
  if (suffix) return `a stack name may not end with "${suffix}": snapset-${stackName} would be the ID of a capture's retention run`;
  return undefined;
}

/** The capture of a stack. One environment never has two runs at once: clients start with this ID and conflict policy FAIL. */
export function snapsetWorkflowId(stackName: string): string {
  return `snapset-${stackName}`;
}

/** The per-stack lock every run of a stack holds while it runs (src/workflows/common.ts `stackLock`). */
export function stackLockWorkflowId(stackName: string): string {
  return `snapset-lock-${stackName}`;
}

/** reviveSnapset of a stack. */
export function reviveWorkflowId(stackName: string): string {
  return `snapset-revive-${stackName}`;
}

/** The retention child (`pruneSnapsets`) a capture starts after a complete set. */
export function retentionWorkflowId(captureWorkflowId: string): string {
  return `${captureWorkflowId}-prune`;
}

/**
 * A `pruneSnapsets` run started by `snapset prune` / `snapset delete`; `at` makes each run's ID its
 * own. Every stack is `_all`: a stack name starts with a letter, so no stack is called that.
 */
export function pruneWorkflowId(kind: 'prune' | 'delete', stackName: string | undefined, at: Date): string {
  return `snapset-${kind}-${stackName ?? '_all'}-${at.toISOString().replace(/[:.]/g, '')}`;
}

/** A `preflightSnapset` run (`snapset preflight`, `create --dry-run`); `nonce` makes each run's ID its own. */
export function preflightWorkflowId(stackName: string, nonce: string): string {
  return `snapset-preflight-${stackName}-${nonce}`;
}

/** The default ID of a stack's nightly Schedule (the runs it starts get Temporal's `-<time>` suffix). */
export function scheduleIdOf(stackName: string): string {
  return snapsetWorkflowId(stackName);
}

/** Temporal's suffix on the workflow IDs a Schedule starts: `-2026-12-01T02:00:00Z`. */
const SCHEDULED_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * The stack of a capture workflow ID (`snapset-<stack>`, or a scheduled run of it), or undefined when
 * the ID is of another kind or not the project's. Older images record the stack only this way.
 */
export function stackOfCaptureWorkflowId(workflowId: string): string | undefined {
  if (!workflowId.startsWith('snapset-')) return undefined;
  const rest = workflowId.slice('snapset-'.length).replace(SCHEDULED_SUFFIX, '');
  if (rest === '' || stackNameProblem(rest)) return undefined;
  return rest;
}

export const SnapsetPhaseKey = defineSearchAttributeKey('SnapsetPhase', SearchAttributeType.KEYWORD);
export const SnapIdKey = defineSearchAttributeKey('SnapId', SearchAttributeType.KEYWORD);
export const StackNameKey = defineSearchAttributeKey('StackName', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows use (registered by the dev server and tests). */
export const SEARCH_ATTRIBUTES = { SnapsetPhase: SnapsetPhaseKey, SnapId: SnapIdKey, StackName: StackNameKey } as const;

export interface CertWaitStatus {
  /** When the cluster was installed (input or read from the cluster). */
  clusterCreatedAt: string;
  clusterCreatedAtSource: 'input' | 'cluster';
  /** clusterCreatedAt + certRotationWait: the earliest safe shutdown. */
  wakeAt: string;
  /** True when no wait was needed: the cluster was already old enough. */
  alreadyOldEnough: boolean;
  /** Set when an operator ended the wait early through the `skipCertWait` Update. */
  skipped?: { reason: string; at: string };
  /** When the wait actually ended. */
  endedAt?: string;
}

/** What every workflow of the project reports through its `progress` query. */
export interface RunProgress<P extends string = string> {
  stackName?: string;
  phase: P;
  /** Phases entered so far, in order. */
  phasesRun: P[];
  /** Human-readable current step (also the workflow's current details in the Web UI). */
  details: string;
  /** When the run started (workflow time, ISO 8601). */
  startedAt?: string;
  /** What this run has changed outside so far, in order ("cordoned 3 nodes", "controller shut down"). */
  changes?: string[];
  /** Things worth knowing that did not stop the run (e.g. an OpenShift node not in snapset_data). */
  warnings?: string[];
  /** Set when the run failed or was cancelled: the root cause, as the workflow failure says it. */
  failure?: SnapsetFailureInfo;
}

export interface SnapsetProgress extends RunProgress<Phase> {
  certWait?: CertWaitStatus;
  /** Set once images are being made. */
  snapId?: string;
  /** Per instance name: the state of its image, once creating-images has begun. */
  images?: Record<string, InstanceImageProgress>;
  /** Every image the cloud failed and that was taken again, in order (capture.imageAttempts). */
  imageRetries?: ImageRetry[];
  /** Per volume (`<instance>:<device>`): the state of its snapshot, once creating-images has begun. */
  volumeSnapshots?: Record<string, VolumeSnapshotProgress>;
}

/** One volume's snapshot during creating-images/verifying. */
export interface VolumeSnapshotProgress {
  /** `pending`, then Cinder's status (`creating`, `available`, `error`), `complete`, or `deleted` by cleanup. */
  state: string;
  snapshotId?: string;
}

/** One failed snapshot taken again while every VM stayed SHUTOFF. */
export interface ImageRetry {
  instance: string;
  /** The attempt this retry starts (2 = the first retake). */
  attempt: number;
  /** Out of capture.imageAttempts. */
  of: number;
  /** What the cloud did: `killed`, `deactivated`, a timeout. */
  reason: string;
  /** The failed image, deleted before the retake. */
  failedImageId?: string;
  /** The failed volume snapshot (`instance` is then `<instance>:<device>`), deleted before the retake. */
  failedSnapshotId?: string;
  /** Workflow time the failure was seen. */
  at: string;
}

/** One instance's image during creating-images/tagging/verifying. */
export interface InstanceImageProgress {
  /** `pending` (not started), then Glance's status (`queued`, `saving`, `active`, `killed`, …), `tagged`, `complete`, or `deleted` by cleanup. */
  state: string;
  imageId?: string;
}

/** The root cause of a failed run, for `progress`, `snapset show` and `snapset watch`. */
export interface SnapsetFailureInfo {
  /** One line: what failed, where (instance, API, status) and what to do. */
  message: string;
  /** ApplicationFailure type of the root cause (e.g. `PreflightError`, `OpenStackNotFoundError`). */
  type: string;
  /** Instance the failure is about, when there is one. */
  instance?: string;
  /** What the user does next. */
  hint?: string;
  /** For a failed preflight: every check that failed, with what to do. */
  failedChecks?: PreflightCheck[];
  /** Nova status of every VM as read after the failure (name → status), when the cloud could be read. */
  finalServerStatus?: Record<string, string>;
  /** Images of the set deleted by cleanup, and any it could not delete. */
  cleanup?: { deleted: string[]; deletedSnapshots?: string[]; left: string[] };
  /** Failed snapshots taken again before the run failed. */
  imageRetries?: ImageRetry[];
}

export const progressQuery = defineQuery<SnapsetProgress>('progress');

export interface SkipCertWaitRequest {
  /** Why it is safe to shut down early (kept in history for the audit trail). At least 10 characters. */
  reason: string;
}
export interface SkipCertWaitResult {
  skipped: true;
  /** When the timer would have fired. */
  wakeAt: string;
}
export const skipCertWaitUpdate = defineUpdate<SkipCertWaitResult, [SkipCertWaitRequest]>('skipCertWait');

/** One image of a SnapSet. */
export interface SnapsetImage {
  imageId: string;
  imageName: string;
  uuid: string;
  role: string;
  macAddress: string;
  /** The instance's Cinder volumes in the set (absent: none), by device. */
  volumes?: SnapsetVolume[];
}

/** One volume of an instance and its snapshot in the set: what a redeployment's `OS::Cinder::Volume` `snapshot_id` takes. */
export interface SnapsetVolume {
  /** The device Nova attached it at (`/dev/vdb`), when known. */
  device: string | null;
  volumeName: string | null;
  volumeId: string;
  /** GiB. */
  size: number;
  snapshotId: string;
  /** Nova made it with the image of a volume-backed server (adopted into the set). */
  adopted?: boolean;
}

/** What retention did after a capture (the `pruneSnapsets` child workflow). */
export interface RetentionOutcome {
  /** The child's workflow ID (its own history in the Web UI). */
  workflowId: string;
  /** Sets deleted, and sets kept. */
  deleted: string[];
  kept: string[];
  /** Why each set was deleted or kept. */
  reasons: Record<string, string>;
  /** Set when the child failed: the capture is still good; older sets are as they were or partly deleted. */
  error?: string;
}

/** Result of createSnapset (DESIGN §5). */
export interface SnapsetResult {
  snapId: string;
  stackName: string;
  cloud?: string;
  createdAt: string;
  images: Record<string, SnapsetImage>;
  /** Hotstack stack parameters to deploy from this set: `<role>_params.image` for single-instance roles. */
  stackParameters: Record<string, { image: string }>;
  /** The seed role's result shape: `snap_id` and, per instance, `image_id`, `role`, `mac_address`. */
  ansible: Record<string, unknown> & { snap_id: string };
  phasesRun: Phase[];
  /** What validation or preflight noted (a MAC normalized, a node not in snapset_data). */
  warnings?: string[];
  /** Present when `retention` was given: what the `pruneSnapsets` child did to the stack's older sets. */
  retention?: RetentionOutcome;
  certWait?: CertWaitStatus;
  /** Failed snapshots taken again during the capture (absent when none failed). */
  imageRetries?: ImageRetry[];
}
