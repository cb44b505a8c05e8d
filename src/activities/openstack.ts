// Placeholder: OpenStack activities arrive with issue 3 (createOpenstackActivities).
export interface OpenstackActivityDeps {}

export function createOpenstackActivities(_deps: OpenstackActivityDeps) {
  return {};
}
