/** The SnapSet model (DESIGN §10): names, the set and its completeness, latest, prune. */
export * from './names.js';
export * from './model.js';
export * from './latest.js';
export * from './prune.js';
export * from './volumes.js';
