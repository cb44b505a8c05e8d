import { createClusterActivities, type ClusterActivityDeps } from './cluster.js';
import { withFailureMapping } from './failures.js';
import { createOpenstackActivities, type OpenstackActivityDeps } from './openstack.js';
import { createReviveActivities } from './revive.js';
import { createSnapsetImageActivities } from './snapset-images.js';
import { createSnapsetStoreActivities } from './snapsets.js';
import { createTemporalActivities } from './temporal.js';

/** Everything the activities need from the outside world; wired in `src/worker.ts` only. */
export interface ActivityDeps extends OpenstackActivityDeps, ClusterActivityDeps {}

/**
 * The one activity factory (STYLE: activities-dependency-injection). Workflows import only its
 * type: `proxyActivities<Activities>()`.
 */
export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...createOpenstackActivities(deps),
    ...createSnapsetImageActivities(deps),
    ...createSnapsetStoreActivities(deps),
    ...createClusterActivities(deps),
    ...createReviveActivities(deps),
    ...createTemporalActivities(),
  });
}

export type Activities = ReturnType<typeof createActivities>;
