/**
 * Cluster activities: every OpenShift operation runs as `oc` on the controller over SSH (in a
 * Hotstack lab the cluster network is reachable only from there). Thin adapters over
 * `src/cluster`: validate first (nothing is sent for a bad name), one SSH session per call,
 * heartbeats on long waits, typed errors (mapped to `ApplicationFailure` by `withFailureMapping`).
 */
import { Context } from '@temporalio/activity';
import {
  ClusterApiUnavailableError,
  ClusterWaitTimeoutError,
  CommandTimeoutError,
  controllerShutdownCommand,
  judgeCsr,
  isPending,
  NodeNotFoundError,
  NodeShutdownError,
  OcClient,
  shutdownControllerHost,
  SshConnectionError,
  SshSessionDroppedError,
  validateObjectNames,
  validateSeconds,
  type CommandSession,
  type ControllerConnector,
  type NodeInfo,
} from '../cluster/index.js';
import { ConfigError, PreflightError, SnapsetError, ValidationError, type PreflightCheck } from '../shared/errors.js';
import { HostKeyVerificationError, SshAuthenticationError } from '../cluster/errors.js';
import { activityCtx, heartbeatPacer } from './context.js';
import type { ControllerTarget } from '../shared/types.js';

/** What the cluster activities need; the worker passes `{ ssh: new SshConnector() }`. */
export interface ClusterActivityDeps {
  /** Opens SSH sessions to the controller (`SshConnector` from `src/cluster`). */
  ssh: ControllerConnector;
  /** Default interval between polls of `waitRouteApi` / `waitNodesReady`. @default 10000 */
  clusterPollIntervalMs?: number;
}

export interface ControllerInput {
  controller: ControllerTarget;
}
export interface NodesInput extends ControllerInput {
  /** Node names (RFC 1123). @default every node of the cluster */
  nodes?: string[];
}
export interface WaitClusterStableInput extends ControllerInput {
  minimumStablePeriodSeconds: number;
  timeoutSeconds: number;
}
export interface ShutdownNodesInput extends ControllerInput {
  nodes: string[];
  /** Nodes shut down at once (channels of one SSH connection). @default 4, at most 8 */
  maxParallel?: number;
  /** Bound of one `oc debug` (it pulls and starts a debug pod). @default 300 */
  perNodeTimeoutSeconds?: number;
  /**
   * When the cluster API does not answer at all, report every node as skipped (assumed already
   * down, e.g. a retry after the masters powered off) instead of failing. The capture phase checks
   * Nova SHUTOFF anyway. @default false
   */
  assumeDownIfApiUnavailable?: boolean;
}
export interface ShutdownControllerInput extends ControllerInput {
  /** @default "sudo shutdown -h now" (only the forms of `controllerShutdownCommand` are accepted) */
  command?: string;
  /**
   * Treat "connection refused / timed out" as already down (a retry after the host went away).
   * Never applies to host-key or authentication failures. @default false
   */
  acceptUnreachable?: boolean;
}
export interface WaitRouteApiInput extends ControllerInput {
  timeoutSeconds: number;
  /** @default deps.clusterPollIntervalMs / 1000 */
  pollIntervalSeconds?: number;
}
export interface ApproveNodeCsrsInput extends ControllerInput {
  nodes: string[];
}
export interface WaitNodesReadyInput extends NodesInput {
  timeoutSeconds: number;
  pollIntervalSeconds?: number;
  /** Approve qualifying kubelet CSRs of these nodes while waiting (see `src/cluster/csr.ts`). @default false */
  approveCsrs?: boolean;
}

export interface PreflightControllerInput extends ControllerInput {
  /** Instance name → Nova server name (from preflightCloud): the OpenShift nodes are matched to them. */
  instances: Record<string, { serverName?: string; role: string }>;
  /** Also check `oc` on the controller and list the nodes (needed when the nodes are prepared). @default true */
  checkCluster?: boolean;
}

export interface PreflightControllerResult {
  checks: PreflightCheck[];
  /** Nodes of the cluster and the instance each maps onto (absent: not in snapset_data). */
  nodes: { name: string; ready: boolean; unschedulable: boolean; instance?: string }[];
  warnings: string[];
}

/** `master-0`, `master-0.hs-sno-1.example`, `Master0` → `master0`: how node and instance names are compared. */
function nameKey(name: string): string {
  return (name.split('.')[0] ?? name).toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface ApprovedCsr {
  name: string;
  node: string;
  kind: 'kubelet-client' | 'kubelet-client-bootstrap' | 'kubelet-serving';
}

const MAX_WAIT_SECONDS = 7 * 24 * 3600;

function validateTarget(controller: unknown): ControllerTarget {
  const c = controller as Partial<ControllerTarget> | undefined;
  const issues: { path: string; message: string }[] = [];
  if (!c || typeof c !== 'object') {
    throw new ValidationError([{ path: 'controller', message: 'required' }]);
  }
  if (typeof c.host !== 'string' || c.host.trim() === '') issues.push({ path: 'controller.host', message: 'required' });
  if (typeof c.user !== 'string' || c.user.trim() === '') issues.push({ path: 'controller.user', message: 'required' });
  if (c.port !== undefined && (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535)) {
    issues.push({ path: 'controller.port', message: 'expected an integer port 1-65535' });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { ...c, port: c.port ?? 22 } as ControllerTarget;
}

function optionalNodes(nodes: unknown): string[] | undefined {
  return nodes === undefined ? undefined : validateObjectNames(nodes, 'nodes');
}

function requiredNodes(nodes: unknown): string[] {
  const list = validateObjectNames(nodes, 'nodes');
  if (list.length === 0) throw new ValidationError([{ path: 'nodes', message: 'at least one node is required' }]);
  return list;
}

function elapsedSeconds(start: number): number {
  return Math.round((Date.now() - start) / 1000);
}

function isTransient(err: unknown): boolean {
  return err instanceof SnapsetError && err.retryable;
}

export function createClusterActivities(deps: ClusterActivityDeps) {
  const defaultPollMs = deps.clusterPollIntervalMs ?? 10_000;

  async function withSession<T>(controller: ControllerTarget, fn: (oc: OcClient, session: CommandSession) => Promise<T>): Promise<T> {
    const signal = Context.current().cancellationSignal;
    const session = await deps.ssh.connect(controller, { signal });
    try {
      return await fn(new OcClient(session, { signal }), session);
    } finally {
      session.close();
    }
  }

  function pickNodes(all: NodeInfo[], wanted: string[] | undefined): NodeInfo[] {
    if (wanted === undefined) return all;
    const byName = new Map(all.map((n) => [n.name, n]));
    const missing = wanted.filter((n) => !byName.has(n));
    if (missing.length > 0) throw new NodeNotFoundError(missing);
    return wanted.map((n) => byName.get(n)!);
  }

  async function setSchedulable(input: NodesInput, unschedulable: boolean) {
    const controller = validateTarget(input?.controller);
    const wanted = optionalNodes(input.nodes);
    return withSession(controller, async (oc) => {
      const targets = pickNodes(await oc.listNodes(), wanted);
      const changed: string[] = [];
      const unchanged: string[] = [];
      for (const node of targets) {
        // Skip nodes already in the wanted state: a retried activity sends nothing new.
        if (node.unschedulable === unschedulable) {
          unchanged.push(node.name);
          continue;
        }
        ((await oc.setUnschedulable(node.name, unschedulable)) ? changed : unchanged).push(node.name);
      }
      return { changed, unchanged };
    });
  }

  /**
   * Polls `check` on one SSH session (re-opened after transient failures) until it reports done,
   * heartbeating each round; gives up with `ClusterWaitTimeoutError` after `timeoutSeconds`.
   */
  async function pollUntil<T>(
    controller: ControllerTarget,
    waitingFor: string,
    timeoutSeconds: number,
    intervalMs: number,
    check: (oc: OcClient) => Promise<{ done: true; value: T } | { done: false; last: Record<string, unknown> }>,
  ): Promise<{ value: T; attempts: number; waitedSeconds: number }> {
    const ctx = Context.current();
    const start = Date.now();
    const deadline = start + timeoutSeconds * 1000;
    let session: CommandSession | undefined;
    let last: Record<string, unknown> = {};
    let attempts = 0;
    try {
      for (;;) {
        attempts++;
        try {
          session ??= await deps.ssh.connect(controller, { signal: ctx.cancellationSignal });
          const r = await check(new OcClient(session, { signal: ctx.cancellationSignal }));
          if (r.done) return { value: r.value, attempts, waitedSeconds: elapsedSeconds(start) };
          last = r.last;
        } catch (err) {
          if (ctx.cancellationSignal.aborted || !isTransient(err)) throw err;
          last = { error: (err as Error).name, message: (err as Error).message.slice(0, 300) };
          if (err instanceof SshConnectionError || err instanceof SshSessionDroppedError || err instanceof CommandTimeoutError) {
            session?.close();
            session = undefined;
          }
        }
        const beat = () => ({ waitingFor, attempt: attempts, elapsedSeconds: elapsedSeconds(start), last });
        ctx.heartbeat(beat());
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new ClusterWaitTimeoutError(`${waitingFor}: not reached within ${timeoutSeconds}s (${attempts} attempts)`, waitingFor, timeoutSeconds, last);
        }
        await activityCtx().sleep(Math.min(intervalMs, remaining), beat);
      }
    } finally {
      session?.close();
    }
  }

  function pollInterval(seconds: unknown): number {
    if (seconds === undefined) return defaultPollMs;
    if (typeof seconds !== 'number' || !(seconds > 0) || seconds > 3600) {
      throw new ValidationError([{ path: 'pollIntervalSeconds', message: 'expected a number of seconds in (0, 3600]' }]);
    }
    return seconds * 1000;
  }

  async function approveQualifyingCsrs(oc: OcClient, nodes: Set<string>) {
    const approved: ApprovedCsr[] = [];
    const ignored: { name: string; reason: string }[] = [];
    for (const csr of await oc.listCsrs()) {
      if (!isPending(csr)) continue;
      const verdict = judgeCsr(csr, nodes);
      if (!verdict.approve) {
        ignored.push({ name: csr.metadata.name, reason: verdict.reason });
        continue;
      }
      await oc.approveCsr(csr.metadata.name);
      approved.push({ name: csr.metadata.name, node: verdict.node, kind: verdict.kind });
    }
    return { approved, ignored };
  }

  return {
    /**
     * Read-only checks of the controller before anything is changed: SSH with the expected host key
     * and the key (or agent), `oc` answering, and the OpenShift nodes mapped onto the instances
     * (by node, server or instance name); nodes that map onto none are warnings. Definite problems
     * fail with a non-retryable `PreflightError` saying what to do; a refused connection stays
     * retryable (the retry policy gives it a few tries).
     */
    async preflightController(input: PreflightControllerInput): Promise<PreflightControllerResult> {
      const controller = validateTarget(input?.controller);
      const where = `${controller.user}@${controller.host}:${controller.port}`;
      const checks: PreflightCheck[] = [];
      const fail = (check: string, message: string, hint: string): never => {
        throw new PreflightError([{ check, ok: false, message, hint }]);
      };
      try {
        return await withSession(controller, async (oc, session) => {
          checks.push({ check: 'controller ssh', ok: true, message: `${where} answered with the expected host key` });
          void session;
          if (input.checkCluster === false) return { checks, nodes: [], warnings: [] };
          const nodes = await oc.listNodes();
          checks.push({ check: 'oc', ok: true, message: `oc answers: ${nodes.length} node(s)` });
          if (nodes.length === 0) fail('oc', 'the cluster lists no nodes', 'check the kubeconfig of the controller user (oc get nodes)');
          const keys = new Map<string, string>();
          for (const [name, inst] of Object.entries(input.instances ?? {})) {
            keys.set(nameKey(name), name);
            if (inst.serverName) keys.set(nameKey(inst.serverName), name);
          }
          const mapped = nodes.map((n) => ({ name: n.name, ready: n.ready, unschedulable: n.unschedulable, instance: keys.get(nameKey(n.name)) }));
          const warnings = [
            ...mapped
              .filter((n) => !n.instance)
              .map((n) => `OpenShift node ${n.name} matches no instance of snapset_data: it will be shut down but not imaged`),
            // shutdownNodes skips NotReady nodes (assumed already off): a running but NotReady node (a lab
            // started and not yet revived) is only stopped by capture.forceStopAfter (Nova os-stop).
            ...mapped
              .filter((n) => !n.ready)
              .map(
                (n) =>
                  `OpenShift node ${n.name} is NotReady: it cannot be shut down from inside; if its VM is running, only capture.forceStopAfter (Nova os-stop) will stop it`,
              ),
          ];
          return { checks, nodes: mapped.map((n) => (n.instance ? n : { name: n.name, ready: n.ready, unschedulable: n.unschedulable })), warnings };
        });
      } catch (err) {
        if (err instanceof HostKeyVerificationError) {
          fail(
            'controller host key',
            err.message,
            `compare with ssh-keygen -lf on the controller, then pin it as controller.hostKeyFingerprint or add it to ${controller.knownHostsFile ?? '~/.ssh/known_hosts'}`,
          );
        }
        if (err instanceof SshAuthenticationError) {
          fail(
            'controller ssh auth',
            err.message,
            `check controller.privateKeyFile${controller.privateKeyFile ? ` (${controller.privateKeyFile})` : ''} or the worker's ssh-agent, and controller.user`,
          );
        }
        if (err instanceof ConfigError)
          fail('controller ssh', err.message, 'the key file and known_hosts are read on the worker’s machine: check the path and permissions there');
        throw err;
      }
    },

    /** Every node with its Ready and cordon state (`oc get nodes -o json`). */
    async listNodes(input: ControllerInput): Promise<{ nodes: NodeInfo[] }> {
      const controller = validateTarget(input?.controller);
      return withSession(controller, async (oc) => ({ nodes: await oc.listNodes() }));
    },

    /** Marks nodes schedulable (`oc adm uncordon`); default all. Idempotent. */
    async uncordonNodes(input: NodesInput): Promise<{ changed: string[]; unchanged: string[] }> {
      return setSchedulable(input, false);
    },

    /** Marks nodes unschedulable (`oc adm cordon`); default all. Idempotent. */
    async cordonNodes(input: NodesInput): Promise<{ changed: string[]; unchanged: string[] }> {
      return setSchedulable(input, true);
    },

    /**
     * `oc adm wait-for-stable-cluster`: every cluster operator Available, not Progressing, not
     * Degraded for the minimum period. Heartbeats with oc's progress lines (the wait can last 20 min).
     */
    async waitClusterStable(input: WaitClusterStableInput): Promise<{ stable: true; waitedSeconds: number; outputTail: string }> {
      const controller = validateTarget(input?.controller);
      const minimum = validateSeconds(input.minimumStablePeriodSeconds, 'minimumStablePeriodSeconds', 0, MAX_WAIT_SECONDS);
      const timeout = validateSeconds(input.timeoutSeconds, 'timeoutSeconds', 1, MAX_WAIT_SECONDS);
      if (timeout <= minimum) {
        throw new ValidationError([{ path: 'timeoutSeconds', message: 'must be greater than minimumStablePeriodSeconds' }]);
      }
      const start = Date.now();
      const pacer = heartbeatPacer({ waitingFor: 'stable cluster', elapsedSeconds: 0 });
      try {
        let partial = '';
        const { outputTail } = await withSession(controller, (oc) =>
          oc.waitForStableCluster(minimum, timeout, (chunk, stream) => {
            if (stream !== 'stdout') return;
            const lines = (partial + chunk).split('\n');
            partial = lines.pop() ?? '';
            // Every progress line is offered (the SDK throttles heartbeats); the last one sticks.
            for (const lastLine of lines.filter((l) => l.trim() !== '')) {
              pacer.update({ waitingFor: 'stable cluster', elapsedSeconds: elapsedSeconds(start), lastLine });
            }
          }),
        );
        return { stable: true, waitedSeconds: elapsedSeconds(start), outputTail };
      } finally {
        pacer.stop();
      }
    },

    /**
     * Shuts nodes down from inside (`oc debug node/N -- chroot /host shutdown -h +1`), bounded
     * parallelism. Nodes already NotReady (powered off) are skipped, so a retry is harmless.
     */
    async shutdownNodes(input: ShutdownNodesInput): Promise<{ scheduled: string[]; skipped: { node: string; reason: string }[] }> {
      const controller = validateTarget(input?.controller);
      const wanted = requiredNodes(input.nodes);
      const maxParallel = input.maxParallel ?? 4;
      if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 8) {
        throw new ValidationError([{ path: 'maxParallel', message: 'expected an integer in [1, 8]' }]);
      }
      const perNodeTimeout = validateSeconds(input.perNodeTimeoutSeconds ?? 300, 'perNodeTimeoutSeconds', 1, 3600);
      const start = Date.now();
      const pacer = heartbeatPacer({ shuttingDown: wanted, elapsedSeconds: 0 });
      try {
        return await withSession(controller, async (oc) => {
          let all: NodeInfo[];
          try {
            all = await oc.listNodes();
          } catch (err) {
            if (input.assumeDownIfApiUnavailable === true && err instanceof ClusterApiUnavailableError) {
              return {
                scheduled: [],
                skipped: wanted.map((node) => ({ node, reason: 'cluster API unavailable; assumed already down' })),
              };
            }
            throw err;
          }
          const targets = pickNodes(all, wanted);
          const scheduled: string[] = [];
          const skipped: { node: string; reason: string }[] = [];
          const failures: { node: string; error: string; exitCode?: number | null }[] = [];
          const queue = targets.filter((n) => {
            if (n.ready) return true;
            skipped.push({ node: n.name, reason: `not Ready (${n.readyReason ?? 'unknown'}); assumed already down` });
            return false;
          });
          const worker = async () => {
            for (let node = queue.shift(); node; node = queue.shift()) {
              try {
                await oc.shutdownNode(node.name, perNodeTimeout * 1000);
                scheduled.push(node.name);
              } catch (err) {
                if (Context.current().cancellationSignal.aborted || (err instanceof SnapsetError && !err.retryable)) throw err;
                const e = err as Error & { exitCode?: number | null };
                failures.push({ node: node.name, error: `${e.name}: ${e.message.slice(0, 300)}`, exitCode: e.exitCode });
              }
              pacer.update({ scheduled, failed: failures.map((f) => f.node), elapsedSeconds: elapsedSeconds(start) });
            }
          };
          await Promise.all(Array.from({ length: Math.min(maxParallel, queue.length) }, worker));
          if (failures.length > 0) throw new NodeShutdownError(failures, scheduled);
          return { scheduled, skipped };
        });
      } finally {
        pacer.stop();
      }
    },

    /** Shuts the controller down over SSH; the connection dropping under us counts as success. */
    async shutdownController(input: ShutdownControllerInput): Promise<{ outcome: 'exited' | 'connection-dropped' | 'unreachable' }> {
      const controller = validateTarget(input?.controller);
      const command = controllerShutdownCommand(input.command);
      const signal = Context.current().cancellationSignal;
      let session: CommandSession;
      try {
        session = await deps.ssh.connect(controller, { signal });
      } catch (err) {
        if (input.acceptUnreachable === true && err instanceof SshConnectionError) return { outcome: 'unreachable' };
        throw err;
      }
      try {
        return await shutdownControllerHost(session, command, { signal });
      } finally {
        session.close();
      }
    },

    /** Waits until `oc api-versions` lists `route.openshift.io` (the OpenShift API layer is up). */
    async waitRouteApi(input: WaitRouteApiInput): Promise<{ available: true; waitedSeconds: number; attempts: number }> {
      const controller = validateTarget(input?.controller);
      const timeout = validateSeconds(input.timeoutSeconds, 'timeoutSeconds', 1, MAX_WAIT_SECONDS);
      const interval = pollInterval(input.pollIntervalSeconds);
      const r = await pollUntil(controller, 'route.openshift.io API', timeout, interval, async (oc) => {
        const versions = await oc.apiVersions();
        if (versions.some((v) => v.startsWith('route.openshift.io/'))) return { done: true, value: undefined };
        return { done: false, last: { apiGroups: versions.length, route: false } };
      });
      return { available: true, waitedSeconds: r.waitedSeconds, attempts: r.attempts };
    },

    /** `metadata.creationTimestamp` of `clusterversion/version`, as an ISO string. */
    async getClusterCreationTime(input: ControllerInput): Promise<{ createdAt: string }> {
      const controller = validateTarget(input?.controller);
      return withSession(controller, async (oc) => ({ createdAt: await oc.clusterCreationTime() }));
    },

    /**
     * Approves the pending kubelet CSRs of the named nodes, and nothing else (rule in
     * `src/cluster/csr.ts`). Idempotent: approved CSRs are no longer pending.
     */
    async approveNodeCsrs(input: ApproveNodeCsrsInput): Promise<{ approved: ApprovedCsr[]; ignored: { name: string; reason: string }[] }> {
      const controller = validateTarget(input?.controller);
      const nodes = new Set(requiredNodes(input.nodes));
      return withSession(controller, (oc) => approveQualifyingCsrs(oc, nodes));
    },

    /** Waits until the nodes (default all) report Ready; optionally approving their kubelet CSRs meanwhile. */
    async waitNodesReady(input: WaitNodesReadyInput): Promise<{ ready: string[]; waitedSeconds: number; approvedCsrs: ApprovedCsr[] }> {
      const controller = validateTarget(input?.controller);
      const wanted = optionalNodes(input.nodes);
      const timeout = validateSeconds(input.timeoutSeconds, 'timeoutSeconds', 1, MAX_WAIT_SECONDS);
      const interval = pollInterval(input.pollIntervalSeconds);
      const approvedCsrs: ApprovedCsr[] = [];
      const r = await pollUntil(controller, 'nodes Ready', timeout, interval, async (oc) => {
        const all = await oc.listNodes();
        const names = wanted ?? all.map((n) => n.name);
        if (input.approveCsrs === true && names.length > 0) {
          approvedCsrs.push(...(await approveQualifyingCsrs(oc, new Set(names))).approved);
        }
        const byName = new Map(all.map((n) => [n.name, n]));
        const notReady = names.filter((n) => byName.get(n)?.ready !== true);
        if (names.length > 0 && notReady.length === 0) return { done: true, value: names };
        return { done: false, last: { notReady, missing: names.filter((n) => !byName.has(n)) } };
      });
      return { ready: r.value, waitedSeconds: r.waitedSeconds, approvedCsrs };
    },
  };
}

export type ClusterActivities = ReturnType<typeof createClusterActivities>;
