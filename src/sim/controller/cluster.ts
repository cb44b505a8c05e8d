/**
 * The simulated OpenShift cluster behind the controller: nodes (cordon, Ready, power), cluster
 * operator stability, API availability, CSRs. Linked to the simulated Nova through
 * `SimComputeControl`: a node shut down from inside turns SHUTOFF after its delay, a node whose
 * server is not ACTIVE is powered off, and a node whose server runs again boots as after a long
 * shutdown (`scenario.controller.restart`): NotReady, new kubelet CSRs, an unstable cluster.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { NODE_BOOTSTRAPPER, NODE_BOOTSTRAPPER_GROUP, SIGNER_KUBELET_CLIENT, SIGNER_KUBELET_SERVING } from '../../cluster/csr.js';
import type { Scenario } from '../scenario.js';
import type { SimComputeControl } from '../types.js';
import { buildCsrPem } from './csr-der.js';
import type { SimCsrScenario, SimNodeScenario } from './scenario.js';
import { simCsrSchema, type ControllerScenario } from './scenario.js';

export interface SimNode {
  name: string;
  /** Nova server of this node, when the scenario has one. */
  uuid?: string;
  roles: string[];
  unschedulable: boolean;
  readyAtMs: number;
  neverReady: boolean;
  shutdownFails: boolean;
  shutdownDelayMs: number;
  debugLatencyMs: number;
  /** Wall-clock time (ms) at which a `shutdown -h +1` inside the node powers it off; cleared when it boots. */
  powerOffAtMs?: number;
  /** Boots so far: what a CSR of an earlier boot triggers on approval no longer applies. */
  boots: number;
  createdAt: string;
  uid: string;
}

export interface SimCsr {
  name: string;
  node: string;
  kind: SimCsrScenario['kind'];
  username: string;
  groups: string[];
  signerName: string;
  usages: string[];
  request: string;
  appearAtMs: number;
  state: 'Pending' | 'Approved' | 'Denied';
  blocksReady: boolean;
  createdAt: string;
  uid: string;
  /** What the cluster does once this CSR is approved (a kubelet moving to its next certificate). */
  onApproved?: () => void;
}

/** The public view of a node, for tests and the control API. */
export interface SimNodeView {
  name: string;
  uuid?: string;
  unschedulable: boolean;
  ready: boolean;
  poweredOff: boolean;
  shutdownScheduled: boolean;
}

/** A generated CSR name, as the kube-controller-manager makes them (`csr-` and five characters). */
function csrName(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return `csr-${[...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function rolesFor(instanceRole: string | undefined): string[] {
  if (instanceRole && /master|control/.test(instanceRole)) return ['control-plane', 'master'];
  return ['worker'];
}

export class SimCluster {
  readonly startedAtMs = Date.now();
  readonly scale: number;
  readonly nodes = new Map<string, SimNode>();
  readonly csrs: SimCsr[] = [];
  readonly createdAt: string;
  readonly clusterId = randomUUID();
  readonly apiHost: string;
  stability: ControllerScenario['stability'];
  private unstableUntilMs: number;
  private flapsLeft: number;
  /** The API answers from this time on (start-up delay, or a cold start after a restart). */
  private apiBackAtMs: number;
  /** `route.openshift.io` is served from this time on. */
  private routeApiAtMs: number;

  constructor(
    readonly scenario: Scenario,
    readonly compute: SimComputeControl,
  ) {
    const c = scenario.controller;
    this.scale = scenario.timeScale;
    this.apiHost = `api.${scenario.stackName}.example.com:6443`;
    this.createdAt = c.clusterCreatedAt ? rfc3339(Date.parse(c.clusterCreatedAt)) : rfc3339(this.startedAtMs - c.clusterAgeHours * 3600_000);
    this.stability = { ...c.stability };
    this.unstableUntilMs = this.startedAtMs + this.ms(c.stability.unstableForSeconds);
    this.flapsLeft = c.stability.flaps;
    this.apiBackAtMs = this.startedAtMs + this.ms(c.apiDownForSeconds);
    this.routeApiAtMs = this.startedAtMs + this.ms(c.routeApiAfterSeconds);

    const fromInstances = Object.values(scenario.instances).filter((i) => i.node);
    const names = new Set([...fromInstances.map((i) => i.node!), ...Object.keys(c.nodes)]);
    for (const name of names) {
      const instance = fromInstances.find((i) => i.node === name);
      const cfg = this.nodeConfig(name);
      this.nodes.set(name, {
        name,
        uuid: instance?.uuid,
        roles: cfg.roles ?? rolesFor(instance?.role),
        unschedulable: cfg.unschedulable,
        readyAtMs: this.startedAtMs + this.ms(cfg.readyAfterSeconds),
        neverReady: cfg.neverReady,
        shutdownFails: cfg.shutdownFails,
        shutdownDelayMs: this.ms(cfg.shutdownDelaySeconds),
        debugLatencyMs: this.ms(cfg.debugLatencySeconds),
        boots: 0,
        createdAt: this.createdAt,
        uid: randomUUID(),
      });
    }
    for (const csr of c.csrs) this.addCsr(csr);
  }

  private nodeConfig(name: string): SimNodeScenario {
    return (
      this.scenario.controller.nodes[name] ?? {
        unschedulable: false,
        readyAfterSeconds: 0,
        neverReady: false,
        shutdownFails: false,
        shutdownDelaySeconds: 60,
        debugLatencySeconds: 2,
      }
    );
  }

  /** Simulated seconds → real milliseconds. */
  ms(seconds: number): number {
    return seconds * 1000 * this.scale;
  }

  /** Real elapsed milliseconds → simulated seconds. */
  simSeconds(realMs: number): number {
    return realMs / 1000 / this.scale;
  }

  /** Adds a CSR; `appearAtMs` (wall clock) overrides the scenario-relative `appearAfterSeconds`. */
  addCsr(input: Parameters<typeof simCsrSchema.parse>[0], extra: { appearAtMs?: number; onApproved?: () => void } = {}): SimCsr {
    const s = simCsrSchema.parse(input);
    const nodeUser = `system:node:${s.node}`;
    const isClient = s.kind !== 'kubelet-serving';
    const csr: SimCsr = {
      name: s.name,
      node: s.node,
      kind: s.kind,
      username: s.username ?? (s.kind === 'kubelet-client-bootstrap' ? NODE_BOOTSTRAPPER : nodeUser),
      groups:
        s.groups ??
        (s.kind === 'kubelet-client-bootstrap'
          ? ['system:serviceaccounts', NODE_BOOTSTRAPPER_GROUP, 'system:authenticated']
          : ['system:nodes', 'system:authenticated']),
      signerName: s.signerName ?? (isClient ? SIGNER_KUBELET_CLIENT : SIGNER_KUBELET_SERVING),
      usages: s.usages ?? (isClient ? ['digital signature', 'client auth'] : ['digital signature', 'server auth']),
      request: Buffer.from(buildCsrPem({ commonName: s.commonName ?? nodeUser, organization: s.organization ?? ['system:nodes'] })).toString('base64'),
      appearAtMs: extra.appearAtMs ?? this.startedAtMs + this.ms(s.appearAfterSeconds),
      state: s.denied ? 'Denied' : s.approved ? 'Approved' : 'Pending',
      blocksReady: s.blocksReady,
      createdAt: rfc3339(extra.appearAtMs ?? Date.now()),
      uid: randomUUID(),
      ...(extra.onApproved ? { onApproved: extra.onApproved } : {}),
    };
    this.csrs.push(csr);
    return csr;
  }

  /** `oc adm certificate approve` of one visible, not denied CSR. */
  approveCsr(csr: SimCsr): void {
    if (csr.state === 'Approved') return;
    csr.state = 'Approved';
    csr.onApproved?.();
  }

  private isControlPlane(node: SimNode): boolean {
    return node.roles.includes('master') || node.roles.includes('control-plane');
  }

  /**
   * The node's server runs again: it boots as after a long shutdown. Its in-guest shutdown
   * schedule is gone with the old boot; its kubelet asks for a new client certificate, then a
   * serving one, and the node is Ready only after both are approved. The first control-plane node
   * to boot after all were off starts the API again (then the OpenShift APIs); every boot makes
   * the cluster operators progress for a while.
   */
  serverPoweredOn(uuid: string, now = Date.now()): void {
    const node = [...this.nodes.values()].find((n) => n.uuid === uuid);
    if (!node) return;
    const r = this.scenario.controller.restart;
    const coldStart =
      this.isControlPlane(node) && [...this.nodes.values()].filter((n) => n !== node && this.isControlPlane(n)).every((n) => this.isPoweredOff(n, now));
    node.powerOffAtMs = undefined;
    node.boots++;
    const boot = node.boots;
    const bootedAt = now + this.ms(r.nodeBootSeconds);
    if (coldStart) {
      this.apiBackAtMs = Math.max(this.apiBackAtMs, now + this.ms(r.apiDownForSeconds));
      this.routeApiAtMs = Math.max(this.routeApiAtMs, this.apiBackAtMs + this.ms(r.routeApiAfterSeconds));
      if (r.foreignCsrNode !== undefined && !this.nodes.has(r.foreignCsrNode)) {
        this.addCsr({ name: csrName(), node: r.foreignCsrNode, kind: 'kubelet-client-bootstrap' }, { appearAtMs: bootedAt });
      }
    }
    this.unstableUntilMs = Math.max(this.unstableUntilMs, (coldStart ? this.apiBackAtMs : now) + this.ms(r.unstableForSeconds));
    if (!r.csrs) {
      node.readyAtMs = bootedAt;
      return;
    }
    node.readyAtMs = Number.POSITIVE_INFINITY; // until its certificates are approved
    const current = () => node.boots === boot;
    this.addCsr(
      { name: csrName(), node: node.name, kind: r.clientCsrKind, blocksReady: true },
      {
        appearAtMs: bootedAt,
        onApproved: () => {
          if (!current()) return;
          this.addCsr(
            { name: csrName(), node: node.name, kind: 'kubelet-serving', blocksReady: true },
            {
              appearAtMs: Date.now() + this.ms(r.servingCsrAfterSeconds),
              onApproved: () => {
                if (current()) node.readyAtMs = Date.now() + this.ms(r.readyAfterApprovalSeconds);
              },
            },
          );
        },
      },
    );
  }

  /**
   * A lab reset: the cluster as the scenario starts it, without its start-up delays: every node
   * powered on, Ready and schedulable, no CSRs, no shutdown scheduled, the API and the OpenShift
   * APIs up, the operators stable (the scenario's stability behaviour and node faults stay).
   */
  reset(now = Date.now()): void {
    this.csrs.length = 0;
    for (const node of this.nodes.values()) {
      const cfg = this.nodeConfig(node.name);
      node.unschedulable = false;
      node.neverReady = cfg.neverReady;
      node.shutdownFails = cfg.shutdownFails;
      node.powerOffAtMs = undefined;
      node.readyAtMs = now;
      node.boots++;
    }
    Object.assign(this.forced, { apiDown: false, routeApiDown: false });
    this.apiBackAtMs = now;
    this.routeApiAtMs = now;
    this.stability = { ...this.scenario.controller.stability };
    this.unstableUntilMs = now;
    this.flapsLeft = this.stability.flaps;
  }

  visibleCsrs(now = Date.now()): SimCsr[] {
    return this.csrs.filter((c) => now >= c.appearAtMs);
  }

  isPoweredOff(node: SimNode, now = Date.now()): boolean {
    const status = node.uuid ? this.compute.serverStatus(node.uuid) : undefined;
    if (status !== undefined) return status !== 'ACTIVE';
    return node.powerOffAtMs !== undefined && now >= node.powerOffAtMs;
  }

  isReady(node: SimNode, now = Date.now()): boolean {
    if (node.neverReady || now < node.readyAtMs || this.isPoweredOff(node, now)) return false;
    return !this.visibleCsrs(now).some((c) => c.node === node.name && c.blocksReady && c.state !== 'Approved');
  }

  /** Overrides set through the control API (tests, the control endpoint): forced down while true. */
  readonly forced = { apiDown: false, routeApiDown: false };

  /** The API answers while the start-up delay has passed and a control-plane node is powered on. */
  apiUp(now = Date.now()): boolean {
    if (this.forced.apiDown) return false;
    if (now < this.apiBackAtMs) return false;
    const masters = [...this.nodes.values()].filter((n) => this.isControlPlane(n));
    return masters.length === 0 || masters.some((n) => !this.isPoweredOff(n, now));
  }

  routeApiUp(now = Date.now()): boolean {
    if (this.forced.routeApiDown) return false;
    return this.apiUp(now) && now >= this.routeApiAtMs;
  }

  /** Name of the unstable operator, or undefined when every operator is Available/not Progressing/not Degraded. */
  unstableOperator(now = Date.now()): string | undefined {
    if (this.stability.neverStable || now < this.unstableUntilMs) return this.stability.operator;
    if (!this.apiUp(now)) return this.stability.operator;
    return undefined;
  }

  /** Called by a running wait after a while of stability: starts a flap when the scenario has some left. */
  maybeFlap(stableForRealMs: number, minimumRealMs: number, now = Date.now()): void {
    if (this.flapsLeft > 0 && stableForRealMs >= minimumRealMs / 2) {
      this.flapsLeft--;
      this.unstableUntilMs = now + this.ms(this.stability.flapSeconds);
    }
  }

  setStability(patch: Partial<ControllerScenario['stability']>): void {
    this.stability = { ...this.stability, ...patch };
    if (patch.flaps !== undefined) this.flapsLeft = patch.flaps;
    if (patch.unstableForSeconds !== undefined) this.unstableUntilMs = Date.now() + this.ms(patch.unstableForSeconds);
  }

  /** `shutdown -h +1` inside a node: powers off after the node's delay (Nova SHUTOFF via the compute seam). */
  scheduleNodeShutdown(node: SimNode): void {
    if (node.powerOffAtMs !== undefined) return; // already scheduled; the earlier schedule stands
    node.powerOffAtMs = Date.now() + node.shutdownDelayMs;
    if (node.uuid) this.compute.guestShutdown(node.uuid, node.shutdownDelayMs);
  }

  view(node: SimNode, now = Date.now()): SimNodeView {
    return {
      name: node.name,
      ...(node.uuid ? { uuid: node.uuid } : {}),
      unschedulable: node.unschedulable,
      ready: this.isReady(node, now),
      poweredOff: this.isPoweredOff(node, now),
      shutdownScheduled: node.powerOffAtMs !== undefined,
    };
  }

  /** `oc get nodes -o json`: a `List` of `Node`s as kubectl prints it. */
  nodeListJson(now = Date.now()): unknown {
    const items = [...this.nodes.values()].map((n, i) => {
      const ready = this.isReady(n, now);
      const off = this.isPoweredOff(n, now);
      const heartbeat = rfc3339(now);
      const pressure = (type: string, reason: string, message: string) =>
        off
          ? {
              lastHeartbeatTime: heartbeat,
              lastTransitionTime: heartbeat,
              message: 'Kubelet stopped posting node status.',
              reason: 'NodeStatusUnknown',
              status: 'Unknown',
              type,
            }
          : { lastHeartbeatTime: heartbeat, lastTransitionTime: n.createdAt, message, reason, status: 'False', type };
      const readyCondition = off
        ? {
            lastHeartbeatTime: heartbeat,
            lastTransitionTime: heartbeat,
            message: 'Kubelet stopped posting node status.',
            reason: 'NodeStatusUnknown',
            status: 'Unknown',
            type: 'Ready',
          }
        : ready
          ? {
              lastHeartbeatTime: heartbeat,
              lastTransitionTime: n.createdAt,
              message: 'kubelet is posting ready status',
              reason: 'KubeletReady',
              status: 'True',
              type: 'Ready',
            }
          : {
              lastHeartbeatTime: heartbeat,
              lastTransitionTime: heartbeat,
              message: 'container runtime network not ready: NetworkReady=false',
              reason: 'KubeletNotReady',
              status: 'False',
              type: 'Ready',
            };
      const labels: Record<string, string> = {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'node.openshift.io/os_id': 'rhcos',
      };
      for (const r of n.roles) labels[`node-role.kubernetes.io/${r}`] = '';
      const taints: { effect: string; key: string; timeAdded?: string }[] = [];
      if (n.unschedulable) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unschedulable', timeAdded: heartbeat });
      if (off) taints.push({ effect: 'NoSchedule', key: 'node.kubernetes.io/unreachable', timeAdded: heartbeat });
      return {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
          creationTimestamp: n.createdAt,
          labels,
          name: n.name,
          resourceVersion: String(10000 + i),
          uid: n.uid,
        },
        spec: {
          ...(taints.length > 0 ? { taints } : {}),
          ...(n.unschedulable ? { unschedulable: true } : {}),
        },
        status: {
          addresses: [
            { address: `192.168.32.${10 + i}`, type: 'InternalIP' },
            { address: n.name, type: 'Hostname' },
          ],
          conditions: [
            pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            readyCondition,
          ],
          nodeInfo: {
            architecture: 'amd64',
            containerRuntimeVersion: 'cri-o://1.29.5',
            kernelVersion: '5.14.0-427.22.1.el9_4.x86_64',
            kubeletVersion: 'v1.29.6+aba1e8d',
            operatingSystem: 'linux',
            osImage: 'Red Hat Enterprise Linux CoreOS 416.94.202406251923-0',
          },
        },
      };
    });
    return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
  }

  csrJson(c: SimCsr): unknown {
    const approved = c.state === 'Approved';
    const denied = c.state === 'Denied';
    return {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { creationTimestamp: c.createdAt, generateName: 'csr-', name: c.name, resourceVersion: '4242', uid: c.uid },
      spec: {
        groups: c.groups,
        request: c.request,
        signerName: c.signerName,
        usages: c.usages,
        username: c.username,
      },
      status:
        approved || denied
          ? {
              conditions: [
                {
                  lastTransitionTime: c.createdAt,
                  lastUpdateTime: c.createdAt,
                  message: approved ? 'This CSR was approved by kubectl certificate approve.' : 'This CSR was denied by kubectl certificate deny.',
                  reason: approved ? 'KubectlApprove' : 'KubectlDeny',
                  status: 'True',
                  type: approved ? 'Approved' : 'Denied',
                },
              ],
            }
          : {},
    };
  }

  csrListJson(now = Date.now()): unknown {
    return {
      apiVersion: 'v1',
      items: this.visibleCsrs(now).map((c) => this.csrJson(c)),
      kind: 'List',
      metadata: { resourceVersion: '' },
    };
  }

  clusterVersionJson(): unknown {
    return {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ClusterVersion',
      metadata: { creationTimestamp: this.createdAt, generation: 2, name: 'version', resourceVersion: '31337', uid: this.clusterId },
      spec: { channel: 'stable-4.16', clusterID: this.clusterId },
      status: {
        availableUpdates: null,
        conditions: [
          { lastTransitionTime: this.createdAt, message: 'Done applying 4.16.3', status: 'True', type: 'Available' },
          { lastTransitionTime: this.createdAt, status: 'False', type: 'Failing' },
          { lastTransitionTime: this.createdAt, message: 'Cluster version is 4.16.3', status: 'False', type: 'Progressing' },
        ],
        desired: { image: 'quay.io/openshift-release-dev/ocp-release@sha256:0000', version: '4.16.3' },
        history: [
          {
            completionTime: this.createdAt,
            image: 'quay.io/openshift-release-dev/ocp-release@sha256:0000',
            startedTime: this.createdAt,
            state: 'Completed',
            verified: false,
            version: '4.16.3',
          },
        ],
        observedGeneration: 2,
        versionHash: 'sim',
      },
    };
  }
}

/** API groups of an OpenShift 4.16 cluster, as `oc api-versions` lists them (sorted). */
export function apiVersionList(withOpenShiftApis: boolean): string[] {
  const core = [
    'admissionregistration.k8s.io/v1',
    'apiextensions.k8s.io/v1',
    'apiregistration.k8s.io/v1',
    'apps/v1',
    'authentication.k8s.io/v1',
    'authorization.k8s.io/v1',
    'autoscaling/v1',
    'autoscaling/v2',
    'batch/v1',
    'certificates.k8s.io/v1',
    'config.openshift.io/v1',
    'coordination.k8s.io/v1',
    'discovery.k8s.io/v1',
    'events.k8s.io/v1',
    'flowcontrol.apiserver.k8s.io/v1',
    'machineconfiguration.openshift.io/v1',
    'networking.k8s.io/v1',
    'node.k8s.io/v1',
    'operator.openshift.io/v1',
    'policy/v1',
    'rbac.authorization.k8s.io/v1',
    'scheduling.k8s.io/v1',
    'storage.k8s.io/v1',
    'v1',
  ];
  const openshift = [
    'apps.openshift.io/v1',
    'authorization.openshift.io/v1',
    'build.openshift.io/v1',
    'image.openshift.io/v1',
    'oauth.openshift.io/v1',
    'project.openshift.io/v1',
    'quota.openshift.io/v1',
    'route.openshift.io/v1',
    'security.openshift.io/v1',
    'template.openshift.io/v1',
    'user.openshift.io/v1',
  ];
  return (withOpenShiftApis ? [...core, ...openshift] : core).sort();
}
