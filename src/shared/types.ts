/**
 * Plain data types shared by workflows and activities. Pure: no Node APIs (imported by workflow code).
 */

/** One VM of a SnapSet, as in the seed's `snapset_data.instances.<name>`. */
export interface InstanceSpec {
  uuid: string;
  role: string;
  mac_address: string;
  /** Cinder volume UUIDs to capture (absent: every attached volume). */
  volumes?: string[];
}

/**
 * How to reach the controller over SSH. Never holds key material: only the path of a key file
 * (read by the worker) or the use of the worker's ssh-agent.
 */
export interface ControllerTarget {
  /** Inventory name of the controller (seed: `controller_ansible_host.name`). */
  name: string;
  /** Host name or IP address. */
  host: string;
  /** @default 22 */
  port: number;
  /** SSH user (seed: `ansible_user`). */
  user: string;
  /** Private key file on the worker's machine (`~` expanded by the worker). Absent: use `SSH_AUTH_SOCK`. */
  privateKeyFile?: string;
  /** Pinned host key, `SHA256:<base64>` as printed by `ssh-keygen -lf`. */
  hostKeyFingerprint?: string;
  /** known_hosts file to check the host key against. @default ~/.ssh/known_hosts */
  knownHostsFile?: string;
  /** Explicit opt-out of host key checking (lab use only). @default false */
  insecureIgnoreHostKey?: boolean;
}

/** Names of the SnapSet phases; also the values of the `SnapsetPhase` search attribute. */
export const PHASES = [
  'validating',
  'preflight',
  'waiting-cert-rotation',
  'preparing-cluster',
  'shutting-down',
  'waiting-shutoff',
  'creating-images',
  'tagging',
  'verifying',
  'pruning',
  'completed',
  'cleaning-up',
  'failed',
  'cancelled',
] as const;
export type Phase = (typeof PHASES)[number];
