import { cloudFaultsSchema, endpointFaultSchema, type CloudFaults, type CloudFaultsInput, type EndpointFault } from './scenario.js';

/** What the fault layer decided for one request. */
export interface FaultDecision {
  /** Extra latency, simulated ms (scale it). */
  latencyMs: number;
  /** Answer before the request takes effect. */
  before?: { kind: 'conflict' } | { kind: 'error'; status: number };
  /** After the request took effect: lose the answer (reset) or replace it by a 5xx. */
  after?: { kind: 'drop' } | { kind: 'error'; status: number };
}

/** Per-endpoint counters: requests seen, answers by status, faults injected. */
export interface EndpointCounters {
  requests: number;
  byStatus: Record<string, number>;
  injected: { error: number; conflict: number; drop: number; errorAfterAccept: number; latency: number };
}

export type SimCounters = Record<string, EndpointCounters>;

/** Small deterministic PRNG (mulberry32) so a seeded scenario injects the same faults each run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `*` matches all, `compute.*` a prefix, anything else exactly. */
export function patternMatches(pattern: string, endpoint: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return endpoint.startsWith(pattern.slice(0, -1));
  if (pattern.endsWith('*')) return endpoint.startsWith(pattern.slice(0, -1));
  return pattern === endpoint;
}

/** Holds the current faults, rolls the dice and counts. */
export class FaultEngine {
  private current: CloudFaults;
  private rand: () => number;
  private counts: SimCounters = {};
  /** Called when `expireTokens` is set (one-shot). */
  onExpireTokens: () => void = () => undefined;

  constructor(initial: CloudFaults) {
    this.current = initial;
    this.rand = mulberry32(initial.seed);
  }

  get faults(): CloudFaults {
    return structuredClone(this.current);
  }

  /** Replaces every fault. */
  replace(input: CloudFaultsInput): CloudFaults {
    this.current = cloudFaultsSchema.parse(input);
    this.rand = mulberry32(this.current.seed);
    this.applyOneShots();
    return this.faults;
  }

  /** Merges a patch: endpoint entries merge by key, other fields replace. */
  merge(patch: CloudFaultsInput): CloudFaults {
    const endpoints: Record<string, EndpointFault> = { ...this.current.endpoints };
    for (const [k, v] of Object.entries(patch.endpoints ?? {})) {
      endpoints[k] = endpointFaultSchema.parse({ ...(endpoints[k] ?? {}), ...v });
    }
    const next = cloudFaultsSchema.parse({ ...this.current, ...patch, endpoints });
    if (patch.seed !== undefined) this.rand = mulberry32(next.seed);
    this.current = next;
    this.applyOneShots();
    return this.faults;
  }

  private applyOneShots(): void {
    if (this.current.expireTokens) {
      this.current.expireTokens = false;
      this.onExpireTokens();
    }
  }

  /** Whether a finished snapshot of this server ends `killed` (consumes `killNextImagesOf[serverId]`, then `killNextImages`). */
  killImage(serverId: string): boolean {
    if (this.current.killImagesOfServers.includes(serverId)) return true;
    const key = Object.keys(this.current.killNextImagesOf).find((k) => k.toLowerCase() === serverId.toLowerCase());
    if (key !== undefined && this.current.killNextImagesOf[key]! > 0) {
      if (--this.current.killNextImagesOf[key]! === 0) delete this.current.killNextImagesOf[key];
      return true;
    }
    if (this.current.killNextImages > 0) {
      this.current.killNextImages--;
      return true;
    }
    return false;
  }

  /** Whether a finished Cinder snapshot of this volume ends `error` (consumes `killNextSnapshotsOf[volumeId]`, then `killNextSnapshots`). */
  killSnapshot(volumeId: string): boolean {
    if (this.current.killSnapshotsOfVolumes.some((v) => v.toLowerCase() === volumeId.toLowerCase())) return true;
    const key = Object.keys(this.current.killNextSnapshotsOf).find((k) => k.toLowerCase() === volumeId.toLowerCase());
    if (key !== undefined && this.current.killNextSnapshotsOf[key]! > 0) {
      if (--this.current.killNextSnapshotsOf[key]! === 0) delete this.current.killNextSnapshotsOf[key];
      return true;
    }
    if (this.current.killNextSnapshots > 0) {
      this.current.killNextSnapshots--;
      return true;
    }
    return false;
  }

  private counter(endpoint: string): EndpointCounters {
    return (this.counts[endpoint] ??= {
      requests: 0,
      byStatus: {},
      injected: { error: 0, conflict: 0, drop: 0, errorAfterAccept: 0, latency: 0 },
    });
  }

  /** Counts a request and decides its faults. */
  decide(endpoint: string): FaultDecision {
    const c = this.counter(endpoint);
    c.requests++;
    const matching = Object.entries(this.current.endpoints)
      .filter(([p]) => patternMatches(p, endpoint))
      .map(([, f]) => f);
    const d: FaultDecision = { latencyMs: 0 };
    for (const f of matching) d.latencyMs += f.latencyMs;
    if (d.latencyMs > 0) c.injected.latency++;
    const consume = (key: 'conflictNext' | 'failNext' | 'dropNext'): EndpointFault | undefined => {
      const f = matching.find((m) => m[key] > 0);
      if (f) f[key]--;
      return f;
    };
    let f: EndpointFault | undefined;
    if ((f = consume('conflictNext'))) {
      d.before = { kind: 'conflict' };
    } else if ((f = consume('failNext'))) {
      d.before = { kind: 'error', status: f.errorStatus };
    } else {
      for (const m of matching) {
        if (m.errorRate > 0 && this.rand() < m.errorRate) {
          d.before = { kind: 'error', status: m.errorStatus };
          break;
        }
      }
    }
    if (d.before) {
      if (d.before.kind === 'conflict') c.injected.conflict++;
      else c.injected.error++;
      return d;
    }
    if (consume('dropNext')) {
      d.after = { kind: 'drop' };
      c.injected.drop++;
      return d;
    }
    for (const m of matching) {
      if (m.errorAfterAcceptRate > 0 && this.rand() < m.errorAfterAcceptRate) {
        d.after = { kind: 'error', status: m.errorStatus };
        c.injected.errorAfterAccept++;
        break;
      }
    }
    return d;
  }

  /** Records the status of an answer (or `reset` for a dropped one). */
  record(endpoint: string, status: number | 'reset'): void {
    const c = this.counter(endpoint);
    const k = String(status);
    c.byStatus[k] = (c.byStatus[k] ?? 0) + 1;
  }

  counters(): SimCounters {
    return structuredClone(this.counts);
  }

  resetCounters(): void {
    this.counts = {};
  }
}
