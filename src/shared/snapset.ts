/**
 * Old path of the SnapSet model, kept only for workflow code that still imports it (the workflows
 * move to `./snapset/index.js` with their next change). Everything else imports `./snapset/index.js`.
 */
export * from './snapset/index.js';
