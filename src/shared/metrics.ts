/**
 * The SnapSet metrics (docs/operations.md lists them with PromQL), served on the worker's Prometheus
 * endpoint beside the SDK's own. Emitted through Temporal's metric meter: from workflow code
 * (`metricMeter` of @temporalio/workflow, which emits nothing while a history is replayed, so a
 * worker restart or a cache eviction never counts a run twice) and, where an activity is the one
 * that knows, from the activity's `Context.current().metricMeter`. Pure: imported by workflow code.
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';

/** Metric names, Prometheus style (`_total` counters, `_seconds` histograms). */
export const SNAPSET_METRICS = {
  runsStarted: 'snapset_runs_started_total',
  runsCompleted: 'snapset_runs_completed_total',
  runsFailed: 'snapset_runs_failed_total',
  runsCancelled: 'snapset_runs_cancelled_total',
  runDuration: 'snapset_run_duration_seconds',
  captureDuration: 'snapset_capture_duration_seconds',
  certWaitDuration: 'snapset_cert_wait_duration_seconds',
  imagesCreated: 'snapset_images_created_total',
  imageRetries: 'snapset_image_retries_total',
  cleanupDeletedImages: 'snapset_cleanup_deleted_images_total',
  cleanupLeftImages: 'snapset_cleanup_left_images_total',
  pruneDeletedSets: 'snapset_prune_deleted_sets_total',
  pruneDeletedImages: 'snapset_prune_deleted_images_total',
  cleanupDeletedVolumeSnapshots: 'snapset_cleanup_deleted_volume_snapshots_total',
  pruneDeletedVolumeSnapshots: 'snapset_prune_deleted_volume_snapshots_total',
} as const;

export const METRIC_HELP: Record<keyof typeof SNAPSET_METRICS, string> = {
  runsStarted: 'Workflow runs started (not counted again when a worker replays a history)',
  runsCompleted: 'Workflow runs completed',
  runsFailed: 'Workflow runs failed, by the failure type of their root cause',
  runsCancelled: 'Workflow runs cancelled',
  runDuration: 'Run time from the run start to its end, by outcome (completed, failed, cancelled)',
  captureDuration:
    'Time to make every image of a set: the first captureImages scheduled until one reports every image active (retakes included), or until the run fails',
  certWaitDuration: 'Time spent in the kubelet certificate-rotation wait, by how it ended (fired, or ended early by skipCertWait or a cancellation)',
  imagesCreated: 'Images (kind=image) and volume snapshots (kind=volume_snapshot) of captured sets',
  imageRetries: 'Snapshots taken again after the cloud failed one, by the status it ended in (killed, deactivated, deleted; timeout: stuck in another)',
  cleanupDeletedImages: 'Images of unfinished sets deleted by cleanup after a failure or cancellation',
  cleanupLeftImages: 'Images of unfinished sets cleanup could not delete (they need a person)',
  pruneDeletedSets: 'SnapSets deleted by pruneSnapsets (retention, snapset prune, snapset delete)',
  pruneDeletedImages: 'Images of the SnapSets deleted by pruneSnapsets',
  cleanupDeletedVolumeSnapshots: 'Cinder volume snapshots of unfinished sets deleted by cleanup after a failure or cancellation',
  pruneDeletedVolumeSnapshots: 'Cinder volume snapshots of the SnapSets deleted by pruneSnapsets',
};

/**
 * Histogram buckets in seconds (the SDK's default buckets are milliseconds for its own latencies):
 * handed to the Prometheus exporter by the worker (`Runtime.install`). The certificate wait is
 * up to 25 h; a capture of real VMs minutes to an hour.
 */
export const SNAPSET_HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [SNAPSET_METRICS.runDuration]: [1, 10, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 90_000, 100_800, 172_800],
  [SNAPSET_METRICS.captureDuration]: [1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200],
  [SNAPSET_METRICS.certWaitDuration]: [1, 60, 600, 3600, 4 * 3600, 8 * 3600, 12 * 3600, 18 * 3600, 24 * 3600, 25 * 3600, 26 * 3600],
};

export type RunOutcome = 'completed' | 'failed' | 'cancelled';

/** Why a snapshot was taken again (bounded: a label value). */
export type ImageRetryReason = 'killed' | 'deactivated' | 'deleted' | 'timeout' | 'other';

/**
 * Counts snapshots taken again (DESIGN §5 step 6). The workflow interceptor calls it for every
 * instance a `retakeImages` activity took again; with `metricMeter` of @temporalio/workflow it is
 * silent on replay (from an activity, `Context.current().metricMeter` would count retried attempts).
 */
export function recordImageRetry(meter: MetricMeter, reason: ImageRetryReason, count = 1): void {
  meter.createCounter(SNAPSET_METRICS.imageRetries, undefined, METRIC_HELP.imageRetries).add(count, { reason });
}

/** Images and volume snapshots made for a set (the workflow interceptor calls it on captureImages' result). */
export function recordImagesCreated(meter: MetricMeter, made: { images: number; volumeSnapshots?: number }): void {
  const counter = meter.createCounter(SNAPSET_METRICS.imagesCreated, undefined, METRIC_HELP.imagesCreated);
  if (made.images > 0) counter.add(made.images, { kind: 'image' });
  if (made.volumeSnapshots) counter.add(made.volumeSnapshots, { kind: 'volume_snapshot' });
}

export function counter(meter: MetricMeter, key: keyof typeof SNAPSET_METRICS, value: number, tags: MetricTags = {}): void {
  if (value > 0) meter.createCounter(SNAPSET_METRICS[key], undefined, METRIC_HELP[key]).add(value, tags);
}

export function seconds(meter: MetricMeter, key: 'runDuration' | 'captureDuration' | 'certWaitDuration', valueSeconds: number, tags: MetricTags = {}): void {
  meter.createHistogram(SNAPSET_METRICS[key], 'float', 's', METRIC_HELP[key]).record(Math.max(0, valueSeconds), tags);
}
