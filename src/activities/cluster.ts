// Placeholder: cluster activities arrive with issue 4 (createClusterActivities).
export interface ClusterActivityDeps {}

export function createClusterActivities(_deps: ClusterActivityDeps) {
  return {};
}
