/** The cluster side: SSH to the controller and `oc` on it. Plain Node, no Temporal imports. */
export * from './errors.js';
export * from './names.js';
export * from './known-hosts.js';
export * from './ssh.js';
export * from './oc.js';
export * from './csr.js';
export * from './controller.js';
export * from './reuse.js';
