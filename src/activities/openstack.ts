/**
 * Server activities: thin, idempotent adapters over `src/openstack`. Each takes one input object
 * (with an optional `cloud`, else the worker's default cloud) and returns plain JSON. Typed errors
 * become `ApplicationFailure`s in `withFailureMapping` (non-retryable: 400/401/403/404, config,
 * failed resources, exhausted waits; retryable: 409, 5xx, network, request timeouts).
 */
import { OpenStackConflictError, OpenStackResourceFailedError, OpenStackWaitTimeoutError, type OpenStackClient, type Server } from '../openstack/index.js';
import { SnapsetError, ValidationError, type FieldIssue } from '../shared/errors.js';
import { activityCtx, mapLimit } from './context.js';
import { REST_PARALLEL, type CloudInput, type OpenstackActivityDeps } from './types.js';

export type { CloudInput, OpenstackActivityDeps };

export interface ServersInput extends CloudInput {
  /** Nova server UUIDs. */
  uuids: string[];
}

export interface ServerStatusView {
  name: string;
  /** Nova `status` (`ACTIVE`, `SHUTOFF`, ...); `NOT_FOUND` when Nova has no such server. */
  status: string;
  vmState: string | null;
  taskState: string | null;
  powerState: number | null;
}

export interface ServerStatusesResult {
  /** uuid → Nova status, `NOT_FOUND` when missing. */
  statuses: Record<string, string>;
  servers: Record<string, ServerStatusView>;
}

export interface WaitServersShutoffInput extends ServersInput {
  /** uuid → instance name, for messages. */
  names?: Record<string, string>;
  /** Give up after this long (seed: 25 × 10 s). */
  timeoutSeconds: number;
  /** @default 10 */
  pollSeconds?: number;
}

export interface WaitServersShutoffResult {
  statuses: Record<string, string>;
  waitedSeconds: number;
}

export interface StopServersResult {
  /** `os-stop` sent (or a stop already in progress). */
  stopped: string[];
  alreadyShutoff: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_POLL_SECONDS = 10;

// ---- input checks: bad input is a non-retryable ValidationError naming the field ----

function check(issues: FieldIssue[], source: string): void {
  if (issues.length) throw new ValidationError(issues, { source });
}

function checkCloud(input: CloudInput, issues: FieldIssue[]): void {
  if (input.cloud !== undefined && (typeof input.cloud !== 'string' || input.cloud.trim() === '')) {
    issues.push({ path: 'cloud', message: 'expected a cloud name from clouds.yaml' });
  }
}

function checkObject(input: unknown, source: string): void {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError([{ path: '', message: 'expected one input object' }], { source });
  }
}

function checkIdList(v: unknown, path: string, issues: FieldIssue[], uuid: boolean): void {
  if (!Array.isArray(v) || v.length === 0) {
    issues.push({ path, message: 'expected a non-empty list' });
    return;
  }
  v.forEach((id, i) => {
    if (typeof id !== 'string' || (uuid ? !UUID.test(id) : id.trim() === '')) {
      issues.push({ path: `${path}[${i}]`, message: uuid ? 'expected a UUID' : 'expected an id' });
    }
  });
}

function checkSeconds(v: unknown, path: string, issues: FieldIssue[], optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) issues.push({ path, message: 'expected a positive number of seconds' });
}

/** One input object with an optional cloud and a non-empty list of server UUIDs (and what `more` checks). */
function checkServersInput(input: ServersInput, source: string, more?: (issues: FieldIssue[]) => void): void {
  checkObject(input, source);
  const issues: FieldIssue[] = [];
  checkCloud(input, issues);
  checkIdList(input.uuids, 'uuids', issues, true);
  more?.(issues);
  check(issues, source);
}

function serverView(s: Server): ServerStatusView {
  return { name: s.name, status: s.status, vmState: s.vmState, taskState: s.taskState, powerState: s.powerState };
}

const NOT_FOUND_VIEW: ServerStatusView = { name: '', status: 'NOT_FOUND', vmState: null, taskState: null, powerState: null };

/** An error a poll loop may shrug off and try again at the next poll (409, 5xx, network, timeouts). */
function transient(err: unknown): err is SnapsetError {
  return err instanceof SnapsetError && err.retryable;
}

export function createOpenstackActivities(deps: OpenstackActivityDeps) {
  const client = (input: CloudInput): Promise<OpenStackClient> => deps.openstack.client(input.cloud);

  return {
    /** Nova status of each server; a missing server is `NOT_FOUND` (not an error here). */
    async getServerStatuses(input: ServersInput): Promise<ServerStatusesResult> {
      checkServersInput(input, 'getServerStatuses');
      const { signal } = activityCtx();
      const c = await client(input);
      const found = await c.compute.getServersByIds(input.uuids, { signal });
      const views = input.uuids.map((id) => (found.has(id) ? serverView(found.get(id)!) : NOT_FOUND_VIEW));
      const statuses: Record<string, string> = {};
      const servers: Record<string, ServerStatusView> = {};
      input.uuids.forEach((id, i) => {
        statuses[id] = views[i]!.status;
        servers[id] = views[i]!;
      });
      return { statuses, servers };
    },

    /**
     * Polls until every server is `SHUTOFF`, heartbeating the statuses. A missing server is a
     * non-retryable 404; a server in `ERROR` fails at once; running out of time is non-retryable.
     */
    async waitServersShutoff(input: WaitServersShutoffInput): Promise<WaitServersShutoffResult> {
      checkServersInput(input, 'waitServersShutoff', (issues) => {
        checkSeconds(input.timeoutSeconds, 'timeoutSeconds', issues);
        checkSeconds(input.pollSeconds, 'pollSeconds', issues, true);
      });
      const ctx = activityCtx();
      const c = await client(input);
      const pollMs = (input.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
      const started = Date.now();
      const deadline = started + input.timeoutSeconds * 1000;
      const statuses: Record<string, string> = Object.fromEntries(input.uuids.map((u) => [u, 'UNKNOWN']));
      for (;;) {
        let lastError: string | undefined;
        const pending = input.uuids.filter((u) => statuses[u] !== 'SHUTOFF');
        try {
          const found = await c.compute.getServersByIds(pending, { signal: ctx.signal });
          for (const id of pending) {
            const label = input.names?.[id] ? `${input.names[id]} (server ${id})` : `server ${id}`;
            const s = found.get(id);
            if (!s) throw new OpenStackResourceFailedError('server', id, 'NOT_FOUND', `${label} is gone from Nova`);
            statuses[id] = s.status;
            if (s.status === 'ERROR') throw new OpenStackResourceFailedError('server', id, 'ERROR', `${label} (${s.name}) is in ERROR`);
          }
        } catch (err) {
          if (!transient(err)) throw err;
          lastError = err.message;
        }
        const waitedSeconds = Math.round((Date.now() - started) / 1000);
        ctx.heartbeat({ statuses, waitedSeconds, ...(lastError ? { lastError } : {}) });
        if (input.uuids.every((u) => statuses[u] === 'SHUTOFF')) return { statuses, waitedSeconds };
        if (Date.now() + pollMs > deadline) {
          throw new OpenStackWaitTimeoutError('server', statuses, input.timeoutSeconds, 'SHUTOFF', input.names);
        }
        await ctx.sleep(pollMs, () => ({ statuses, waitedSeconds: Math.round((Date.now() - started) / 1000) }));
      }
    },

    /** `os-stop` for every server not yet `SHUTOFF` (idempotent: skips stopped and stopping ones). */
    async stopServers(input: ServersInput): Promise<StopServersResult> {
      checkServersInput(input, 'stopServers');
      const { signal } = activityCtx();
      const c = await client(input);
      const result: StopServersResult = { stopped: [], alreadyShutoff: [] };
      const outcome = await mapLimit(input.uuids, REST_PARALLEL, async (id): Promise<'stopped' | 'alreadyShutoff'> => {
        const s = await c.compute.getServer(id, { signal });
        if (s.status === 'SHUTOFF') return 'alreadyShutoff';
        if (s.taskState === 'powering-off') return 'stopped';
        try {
          await c.compute.stopServer(id, { signal });
          return 'stopped';
        } catch (err) {
          if (!(err instanceof OpenStackConflictError)) throw err;
          // Busy or already stopping/stopped by someone else: fine if it is on its way down.
          const again = await c.compute.getServer(id, { signal });
          if (again.status === 'SHUTOFF') return 'alreadyShutoff';
          if (again.taskState === 'powering-off') return 'stopped';
          throw err;
        }
      });
      input.uuids.forEach((id, i) => result[outcome[i]!].push(id));
      return result;
    },
  };
}

export type OpenstackActivities = ReturnType<typeof createOpenstackActivities>;
