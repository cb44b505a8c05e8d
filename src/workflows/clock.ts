/**
 * The workflow clock. Inside Temporal's workflow sandbox `Date` is replaced by the deterministic
 * workflow time (the time of the current workflow task), so this is the workflow API's notion of
 * "now", safe on replay. Kept in one place so the lint rule against `Date.now()` can stay on.
 */
export function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties
  return Date.now();
}

export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
