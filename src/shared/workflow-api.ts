/**
 * Names shared by workflows, clients, the CLI and tests (STYLE: samples' `shared.ts`).
 * Pure: imported by workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Phase } from './types.js';

export const TASK_QUEUE = 'hotstack-snapset';

/** One environment never has two runs at once: clients start with this ID and conflict policy FAIL. */
export function snapsetWorkflowId(stackName: string): string {
  return `snapset-${stackName}`;
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

export interface SnapsetProgress {
  stackName?: string;
  phase: Phase;
  /** Phases entered so far, in order. */
  phasesRun: Phase[];
  /** Human-readable current step (also the workflow's current details in the Web UI). */
  details: string;
  certWait?: CertWaitStatus;
  /** Set once images are being made. */
  snapId?: string;
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
  /** Present when `retention` was given: what happened to older sets. */
  retention?: string;
  certWait?: CertWaitStatus;
}
