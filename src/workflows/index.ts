// The workflows the worker registers (workflowsPath points here).
export { createSnapset } from './create-snapset.js';
export { stackLock } from './common.js';
export { preflightSnapset } from './preflight.js';
export { pruneSnapsets } from './prune-snapsets.js';
export { reviveSnapset } from './revive-snapset.js';
