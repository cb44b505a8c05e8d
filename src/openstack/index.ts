/**
 * A plain Node OpenStack client (Keystone v3, Nova v2.1, Glance v2, Cinder v3) configured like openstacksdk.
 * No Temporal imports: activities adapt it.
 */
export * from './errors.js';
export * from './config.js';
export * from './http.js';
export * from './identity.js';
export * from './session.js';
export * from './compute.js';
export * from './image.js';
export * from './volume.js';
export * from './client.js';
export { sleep } from './util.js';
