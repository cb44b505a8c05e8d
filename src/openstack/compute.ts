import type { Session } from './session.js';
import { OpenStackNetworkError } from './errors.js';

/**
 * Nova v2.1, the calls a SnapSet needs. Every call sends a microversion ≥ 2.45 so that `createImage`
 * answers with `{"image_id"}` in the body (2.45 dropped the `Location` header).
 */

/** The microversion we ask for: ≥ 2.45 (createImage body) and old enough for any supported cloud (Queens). */
export const DEFAULT_COMPUTE_MICROVERSION = '2.60';
const MIN_MICROVERSION: [number, number] = [2, 45];

export function parseMicroversion(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The fields of a Nova server a SnapSet looks at, plus the raw JSON. */
export interface Server {
  id: string;
  name: string;
  /** `ACTIVE`, `SHUTOFF`, `ERROR`, ... */
  status: string;
  vmState: string | null;
  taskState: string | null;
  /** 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED. */
  powerState: number | null;
  raw: Record<string, unknown>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export class ComputeClient {
  readonly microversion: string;

  constructor(
    private readonly session: Session,
    opts: { microversion?: string } = {},
  ) {
    const mv = opts.microversion ?? DEFAULT_COMPUTE_MICROVERSION;
    const parsed = parseMicroversion(mv);
    if (!parsed || parsed[0] < MIN_MICROVERSION[0] || (parsed[0] === MIN_MICROVERSION[0] && parsed[1] < MIN_MICROVERSION[1])) {
      throw new RangeError(`compute microversion must be ≥ 2.45, got ${mv}`);
    }
    this.microversion = mv;
  }

  private headers(): Record<string, string> {
    return {
      'X-OpenStack-Nova-API-Version': this.microversion,
      'OpenStack-API-Version': `compute ${this.microversion}`,
    };
  }

  /** `GET /servers/{id}` → 200. */
  async getServer(id: string, opts: CallOptions = {}): Promise<Server> {
    const res = await this.session.request('compute', {
      method: 'GET',
      path: `/servers/${encodeURIComponent(id)}`,
      headers: this.headers(),
      expected: [200],
      signal: opts.signal,
    });
    const s = (res.body as { server?: Record<string, unknown> } | undefined)?.server;
    if (!s || typeof s.id !== 'string') {
      throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'compute' }, 'response has no server object');
    }
    return toServer(s);
  }

  private async action(id: string, body: Record<string, unknown>, opts: CallOptions) {
    return await this.session.request('compute', {
      method: 'POST',
      path: `/servers/${encodeURIComponent(id)}/action`,
      headers: this.headers(),
      json: body,
      expected: [202],
      signal: opts.signal,
    });
  }

  /** `createImage` server action → 202 `{"image_id"}` (≥ 2.45). `metadata` becomes image properties. */
  async createImage(id: string, name: string, metadata: Record<string, string> = {}, opts: CallOptions = {}): Promise<{ imageId: string }> {
    const res = await this.action(id, { createImage: { name, metadata } }, opts);
    const fromBody = (res.body as { image_id?: unknown } | undefined)?.image_id;
    if (typeof fromBody === 'string') return { imageId: fromBody };
    // A cloud that ignored our microversion (< 2.45) still says where the image is.
    const loc = res.headers.location;
    const fromLocation = loc ? /\/images\/([^/?#]+)/.exec(loc)?.[1] : undefined;
    if (fromLocation) return { imageId: fromLocation };
    throw new OpenStackNetworkError({ method: 'POST', url: res.url, service: 'compute' }, 'createImage answered without image_id');
  }

  /** `os-stop` server action → 202. */
  async stopServer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.action(id, { 'os-stop': null }, opts);
  }

  /** `os-start` server action → 202. */
  async startServer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.action(id, { 'os-start': null }, opts);
  }
}

function toServer(s: Record<string, unknown>): Server {
  const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: s.id as string,
    name: typeof s.name === 'string' ? s.name : '',
    status: typeof s.status === 'string' ? s.status : 'UNKNOWN',
    vmState: strOrNull(s['OS-EXT-STS:vm_state']),
    taskState: strOrNull(s['OS-EXT-STS:task_state']),
    powerState: typeof s['OS-EXT-STS:power_state'] === 'number' ? s['OS-EXT-STS:power_state'] : null,
    raw: s,
  };
}
