/**
 * `oc` operations run on the controller. Every command is assembled from validated tokens only
 * (`names.ts`); output is parsed from the shapes the real `oc` prints (JSON for reads, the
 * kubectl/oc messages for writes).
 */
import type { CsrObject } from './csr.js';
import { ClusterApiUnavailableError, ClusterNotStableError, OcOutputError, RemoteCommandError, tail } from './errors.js';
import { goDuration, safeCommand, validateObjectName, type SafeCommand } from './names.js';
import type { CommandResult, CommandSession, RunOptions } from './ssh.js';

/** One OpenShift node as `oc get nodes -o json` describes it. */
export interface NodeInfo {
  name: string;
  /** `Ready` condition is `True`. */
  ready: boolean;
  /** Reason of the `Ready` condition (e.g. `KubeletReady`, `NodeStatusUnknown`). */
  readyReason?: string;
  /** `spec.unschedulable` (cordoned). */
  unschedulable: boolean;
  /** From the `node-role.kubernetes.io/<role>` labels. */
  roles: string[];
}

/** Bounds of the short `oc` calls (reads, cordon, approve). */
export const OC_SHORT_TIMEOUT_MS = 120_000;

const API_UNAVAILABLE =
  /The connection to the server .* was refused|Unable to connect to the server|dial tcp|i\/o timeout|connection refused|ServiceUnavailable|Service Unavailable|currently unable to handle the request|TLS handshake timeout|net\/http: request canceled|http2: server sent GOAWAY/i;

const NOT_RETRYABLE =
  /unknown (shorthand )?flag|unknown command|Error from server \((NotFound|Forbidden|BadRequest|Invalid)\)|the server doesn't have a resource type|must be greater than|invalid argument|is already Denied|command not found/i;

/** Turns a failed `oc` run into the matching typed error. */
export function ocFailure(cmd: SafeCommand, result: CommandResult): Error {
  const stderr = result.stderr;
  if (API_UNAVAILABLE.test(stderr)) {
    return new ClusterApiUnavailableError(`cluster API unavailable during ${cmd.verb}: ${tail(stderr, 300)}`, cmd.verb, tail(stderr));
  }
  const retryable = result.exitCode !== 127 && !NOT_RETRYABLE.test(stderr);
  return new RemoteCommandError(
    `${cmd.verb} exited with ${result.exitCode ?? `signal ${result.signal ?? '?'}`}: ${tail(stderr, 300)}`,
    cmd.verb,
    result.exitCode,
    result.signal,
    tail(stderr),
    retryable,
  );
}

function parseJson(cmd: SafeCommand, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OcOutputError(`${cmd.verb} did not print JSON`, cmd.verb);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the NodeList printed by `oc get nodes -o json`. */
export function parseNodeList(json: unknown, verb = 'oc get nodes'): NodeInfo[] {
  if (!isObject(json) || !Array.isArray(json.items)) throw new OcOutputError('node list has no items', verb);
  return json.items.map((item: unknown) => {
    if (!isObject(item) || !isObject(item.metadata) || typeof item.metadata.name !== 'string') {
      throw new OcOutputError('node without metadata.name', verb);
    }
    const spec = isObject(item.spec) ? item.spec : {};
    const status = isObject(item.status) ? item.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
    const ready = conditions.find((c) => c.type === 'Ready');
    const labels = isObject(item.metadata.labels) ? item.metadata.labels : {};
    const roles = Object.keys(labels)
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length))
      .sort();
    return {
      name: item.metadata.name,
      ready: ready?.status === 'True',
      ...(typeof ready?.reason === 'string' ? { readyReason: ready.reason } : {}),
      unschedulable: spec.unschedulable === true,
      roles,
    };
  });
}

/** `oc` verbs over one SSH session. Arguments must already be validated by the caller; they are re-checked here. */
export class OcClient {
  constructor(
    private readonly session: CommandSession,
    private readonly opts: { signal?: AbortSignal; shortTimeoutMs?: number } = {},
  ) {}

  private async oc(cmd: SafeCommand, extra: RunOptions = {}): Promise<CommandResult> {
    const result = await this.session.run(cmd, {
      timeoutMs: this.opts.shortTimeoutMs ?? OC_SHORT_TIMEOUT_MS,
      signal: this.opts.signal,
      ...extra,
      allowNonZeroExit: true,
    });
    if (result.exitCode !== 0) throw ocFailure(cmd, result);
    return result;
  }

  /** `oc get nodes -o json`. */
  async listNodes(): Promise<NodeInfo[]> {
    const cmd = safeCommand(['oc', 'get', 'nodes', '-o', 'json'], 'oc get nodes');
    const { stdout } = await this.oc(cmd);
    return parseNodeList(parseJson(cmd, stdout), cmd.verb);
  }

  /**
   * `oc adm cordon node/N` / `oc adm uncordon node/N`. Idempotent: prints `node/N already cordoned`
   * when nothing changed. Returns whether the node changed.
   */
  async setUnschedulable(node: string, unschedulable: boolean): Promise<boolean> {
    validateObjectName(node, 'node');
    const verb = unschedulable ? 'cordon' : 'uncordon';
    const cmd = safeCommand(['oc', 'adm', verb, `node/${node}`], `oc adm ${verb}`);
    const { stdout } = await this.oc(cmd);
    return !/\balready (un)?cordoned\b/.test(stdout);
  }

  /**
   * `oc adm wait-for-stable-cluster --minimum-stable-period=P --timeout=T`; output streamed to
   * `onOutput`. A non-zero exit (timeout) becomes `ClusterNotStableError`.
   */
  async waitForStableCluster(
    minimumStablePeriodSeconds: number,
    timeoutSeconds: number,
    onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void,
  ): Promise<{ outputTail: string }> {
    const cmd = safeCommand(
      ['oc', 'adm', 'wait-for-stable-cluster', `--minimum-stable-period=${goDuration(minimumStablePeriodSeconds)}`, `--timeout=${goDuration(timeoutSeconds)}`],
      'oc adm wait-for-stable-cluster',
    );
    // oc enforces --timeout itself; the SSH bound is a backstop with a minute of slack.
    const result = await this.session.run(cmd, {
      timeoutMs: (timeoutSeconds + 60) * 1000,
      signal: this.opts.signal,
      onOutput,
      allowNonZeroExit: true,
    });
    if (result.exitCode !== 0) {
      const failure = ocFailure(cmd, result);
      if (failure instanceof RemoteCommandError && failure.retryable) {
        throw new ClusterNotStableError(
          `cluster operators were not stable for ${goDuration(minimumStablePeriodSeconds)} within ${goDuration(timeoutSeconds)}: ${tail(result.stderr, 200)}`,
          result.exitCode,
          tail(`${result.stdout}\n${result.stderr}`),
        );
      }
      throw failure;
    }
    return { outputTail: tail(result.stdout, 500) };
  }

  /** `oc debug node/N -- chroot /host shutdown -h +1`: the node powers off about a minute later. */
  async shutdownNode(node: string, timeoutMs: number): Promise<{ stderrTail: string }> {
    validateObjectName(node, 'node');
    const cmd = safeCommand(['oc', 'debug', `node/${node}`, '--', 'chroot', '/host', 'shutdown', '-h', '+1'], 'oc debug node shutdown');
    const { stderr } = await this.oc(cmd, { timeoutMs });
    return { stderrTail: tail(stderr, 500) };
  }

  /** `oc api-versions`: the API groups/versions the server serves. */
  async apiVersions(): Promise<string[]> {
    const cmd = safeCommand(['oc', 'api-versions'], 'oc api-versions');
    const { stdout } = await this.oc(cmd);
    return stdout
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  /** Creation time of the cluster: `metadata.creationTimestamp` of `clusterversion/version`. */
  async clusterCreationTime(): Promise<string> {
    const cmd = safeCommand(['oc', 'get', 'clusterversion', 'version', '-o', 'json'], 'oc get clusterversion');
    const { stdout } = await this.oc(cmd);
    const json = parseJson(cmd, stdout);
    const ts = isObject(json) && isObject(json.metadata) ? json.metadata.creationTimestamp : undefined;
    const ms = typeof ts === 'string' ? Date.parse(ts) : NaN;
    if (Number.isNaN(ms)) throw new OcOutputError('clusterversion has no valid metadata.creationTimestamp', cmd.verb);
    return new Date(ms).toISOString();
  }

  /** `oc get csr -o json`. */
  async listCsrs(): Promise<CsrObject[]> {
    const cmd = safeCommand(['oc', 'get', 'csr', '-o', 'json'], 'oc get csr');
    const { stdout } = await this.oc(cmd);
    const json = parseJson(cmd, stdout);
    if (!isObject(json) || !Array.isArray(json.items)) throw new OcOutputError('CSR list has no items', cmd.verb);
    return json.items.filter(
      (i: unknown): i is CsrObject =>
        isObject(i) && isObject(i.metadata) && typeof i.metadata.name === 'string' && isObject(i.spec) && typeof i.spec.request === 'string',
    );
  }

  /** `oc adm certificate approve NAME`. */
  async approveCsr(name: string): Promise<void> {
    validateObjectName(name, 'csr', 'CSR name');
    const cmd = safeCommand(['oc', 'adm', 'certificate', 'approve', name], 'oc adm certificate approve');
    await this.oc(cmd);
  }
}
