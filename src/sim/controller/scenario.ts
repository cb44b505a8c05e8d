import { z } from 'zod';

/**
 * The controller part of a simulator scenario: the SSH endpoint (user, accepted keys), the
 * OpenShift cluster seen through `oc` on it (nodes, stability, API availability, CSRs) and
 * faults. Every field has a default, so `controller: {}` is a healthy, stable cluster whose nodes
 * are the `node` names of the scenario's instances. Times are in simulated seconds, multiplied
 * by the scenario's `timeScale`.
 */

const seconds = z.number().nonnegative();

/** Per-node behaviour, keyed by OpenShift node name. */
export const simNodeSchema = z
  .object({
    /** Cordoned at start (`spec.unschedulable`). */
    unschedulable: z.boolean().default(false),
    /** The node reports Ready this long after the simulator starts (a revived cluster coming up). */
    readyAfterSeconds: seconds.default(0),
    /** The node never reports Ready. */
    neverReady: z.boolean().default(false),
    /** `oc debug node/N -- chroot /host shutdown -h +1` fails for this node. */
    shutdownFails: z.boolean().default(false),
    /** Time from a `shutdown -h +1` inside the node until it powers off (the `+1` minute). */
    shutdownDelaySeconds: seconds.default(60),
    /** Time `oc debug` takes to start its pod and run the command. */
    debugLatencySeconds: seconds.default(2),
    /** Roles (labels `node-role.kubernetes.io/<role>`); default from the instance role. */
    roles: z.array(z.string()).optional(),
  })
  .strict();

/** A CertificateSigningRequest present in the cluster (pending unless `approved`/`denied`). */
export const simCsrSchema = z
  .object({
    name: z.string().min(1),
    /** Node the CSR is for: the subject CN is `system:node:<node>` unless `commonName` is given. */
    node: z.string().min(1),
    /** Kubelet flow; sets signer, requester, groups and usages like a real kubelet would. */
    kind: z.enum(['kubelet-client-bootstrap', 'kubelet-client', 'kubelet-serving']).default('kubelet-serving'),
    /** Overrides, to model CSRs that must NOT be approved. */
    username: z.string().optional(),
    groups: z.array(z.string()).optional(),
    signerName: z.string().optional(),
    usages: z.array(z.string()).optional(),
    commonName: z.string().optional(),
    organization: z.array(z.string()).optional(),
    /** Appears this long after the simulator starts. */
    appearAfterSeconds: seconds.default(0),
    approved: z.boolean().default(false),
    denied: z.boolean().default(false),
    /** The node stays NotReady until this CSR is approved (a kubelet that cannot authenticate). */
    blocksReady: z.boolean().default(false),
  })
  .strict();

export const controllerScenarioSchema = z
  .object({
    /** SSH user the simulator accepts. */
    user: z.string().min(1).default('cloud-user'),
    /** Extra accepted public keys (`ssh-ed25519 AAAA… comment`); the simulator also generates one client key. */
    authorizedKeys: z.array(z.string()).default([]),
    /** Creation time of the cluster (`clusterversion/version`); default: `clusterAgeHours` before start. */
    clusterCreatedAt: z.iso.datetime({ offset: true }).optional(),
    clusterAgeHours: z.number().nonnegative().default(30),
    /** Base latency of every `oc` call. */
    commandLatencySeconds: seconds.default(0.2),
    /** The API server refuses connections for this long after start. */
    apiDownForSeconds: seconds.default(0),
    /** `route.openshift.io` is served only this long after start (the OpenShift API layer comes up last). */
    routeApiAfterSeconds: seconds.default(0),
    /** How the cluster operators behave under `oc adm wait-for-stable-cluster`. */
    stability: z
      .object({
        /** Operators progressing for this long after start. */
        unstableForSeconds: seconds.default(0),
        /** Times the cluster turns unstable again in the middle of a stable period (a flapping operator). */
        flaps: z.number().int().nonnegative().default(0),
        /** How long each flap lasts. */
        flapSeconds: seconds.default(30),
        /** Operators never become stable: every wait times out. */
        neverStable: z.boolean().default(false),
        /** Name of the unstable cluster operator in oc's messages. */
        operator: z.string().default('kube-apiserver'),
      })
      .strict()
      .prefault({}),
    /** Per-node behaviour; nodes come from `instances.<name>.node`, extra keys add nodes without a VM. */
    nodes: z.record(z.string(), simNodeSchema).default({}),
    csrs: z.array(simCsrSchema).default([]),
    /** Time from the controller's `shutdown` until its VM is powered off. */
    controllerShutdownDelaySeconds: seconds.default(5),
    /** `sudo` needs a password the simulator never gets (shutdown exits 1). */
    sudoRequiresPassword: z.boolean().default(false),
    faults: z
      .object({
        /** Connections are refused (nothing listens on the port). */
        refuseConnections: z.boolean().default(false),
        /** The next N sessions are dropped when they run their first command. */
        dropSessions: z.number().int().nonnegative().default(0),
        /** The next N commands never answer (for command timeouts). */
        stallCommands: z.number().int().nonnegative().default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ControllerScenarioInput = z.input<typeof controllerScenarioSchema>;
export type ControllerScenario = z.output<typeof controllerScenarioSchema>;
export type SimNodeScenario = z.output<typeof simNodeSchema>;
export type SimCsrScenario = z.output<typeof simCsrSchema>;
