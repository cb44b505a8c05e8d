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

/**
 * How the lab comes back when its servers run again (Nova `os-start`, a revive). Not used at
 * start: the scenario's own delays (`readyAfterSeconds`, `apiDownForSeconds`, …) say how the lab
 * starts. Modelled on an OpenShift cluster powered on after a long shutdown: the kubelets' client
 * certificates expired, so each node asks for a new one (pending until approved), then for a
 * serving certificate, and reports Ready only once both are approved.
 */
export const restartScenarioSchema = z
  .object({
    /** Boot of a node's VM until its kubelet runs and asks for certificates. */
    nodeBootSeconds: seconds.default(30),
    /** Boot of the controller's VM until its sshd answers (connections are refused before). */
    controllerBootSeconds: seconds.default(20),
    /**
     * Each node asks for new kubelet certificates and is NotReady until they are approved; false
     * models a short shutdown (certificates still valid): Ready once booted.
     */
    csrs: z.boolean().default(true),
    /** Requester of the new client certificate: the node bootstrapper (expired certificate) or the node itself. */
    clientCsrKind: z.enum(['kubelet-client-bootstrap', 'kubelet-client']).default('kubelet-client-bootstrap'),
    /** From the approval of the client CSR until the kubelet-serving CSR appears. */
    servingCsrAfterSeconds: seconds.default(5),
    /** From the approval of the last CSR until the node reports Ready. */
    readyAfterApprovalSeconds: seconds.default(10),
    /** The API server answers this long after the first control-plane node boots (all were off). */
    apiDownForSeconds: seconds.default(60),
    /** `route.openshift.io` is served this long after the API answers again. */
    routeApiAfterSeconds: seconds.default(60),
    /** Cluster operators progress this long after a node boots (from the API's return on a cold start). */
    unstableForSeconds: seconds.default(120),
    /**
     * A pending CSR that must NOT be approved appears with a cold start: a client CSR for this
     * node, which is not in the lab (e.g. a machine of another cluster on the same network).
     */
    foreignCsrNode: z.string().min(1).optional(),
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
    /** What a client connecting to the powered-off controller sees: a reset (closed port) or silence (no SYN-ACK: it times out). */
    whenPoweredOff: z.enum(['refuse', 'stall']).default('refuse'),
    /** How the lab comes back after its servers are started again. */
    restart: restartScenarioSchema.prefault({}),
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
export type RestartScenario = z.output<typeof restartScenarioSchema>;
