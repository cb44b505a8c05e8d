/**
 * SnapSets seeded into the simulator's Glance through the scenario (`cloud.images`, with their
 * `created_at` in the past), shaped as createSnapset leaves them — or broken in one chosen way.
 */
import type { CloudScenarioInput } from '../../src/sim/cloud/index.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { FAST_SCENARIO } from './temporal.js';

type SeedImage = NonNullable<CloudScenarioInput['images']>[number];

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface SeedSet {
  snapId: string;
  stack?: string | null;
  /** How long ago it was made. */
  ago: number;
  /** Instance name → role. @default controller + master0 */
  instances?: Record<string, string>;
  /** `complete` (default), `seed` (tagged, no marker), `none` (half-made: properties only). */
  tags?: 'complete' | 'seed' | 'none';
  /** Instance → Glance status other than active. */
  status?: Record<string, SeedImage['status']>;
  workflowId?: string;
}

/** MAC of an instance of a seeded set (deterministic, so tests can assert it). */
export function seedMac(snapId: string, name: string): string {
  let h = 0;
  for (const ch of `${snapId}/${name}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `fa:16:3e:${[h >>> 16, h >>> 8, h].map((b) => (b & 255).toString(16).padStart(2, '0')).join(':')}`;
}

export function seedImages(sets: SeedSet[], now = Date.now()): SeedImage[] {
  return sets.flatMap((s) => {
    const instances = s.instances ?? { controller: 'controller', master0: 'ocp_master' };
    return Object.entries(instances).map(([name, role]): SeedImage => {
      const seed = ['hotstack', 'hotstack-snapset', `name=${name}`, `role=${role}`, `snap_id=${s.snapId}`, `mac_address=${seedMac(s.snapId, name)}`];
      const status = s.status?.[name] ?? 'active';
      const tags = s.tags === 'none' ? [] : s.tags === 'seed' || status !== 'active' ? seed : [...seed, 'snapset_complete'];
      return {
        name: `hotstack-${name}-snapshot-${s.snapId}`,
        status,
        tags,
        properties: {
          image_type: 'snapshot',
          hotstack_snap_id: s.snapId,
          hotstack_set_size: String(Object.keys(instances).length),
          ...(s.stack === null ? {} : { hotstack_stack_name: s.stack ?? 'hs-sno-1' }),
          ...(s.workflowId ? { hotstack_workflow_id: s.workflowId } : {}),
        },
        createdAt: new Date(now - s.ago).toISOString(),
      };
    });
  });
}

/** FAST_SCENARIO with these sets already in Glance. */
export function scenarioWithSets(sets: SeedSet[]): ScenarioInput {
  return { ...FAST_SCENARIO, cloud: { ...(FAST_SCENARIO.cloud ?? {}), images: seedImages(sets) } };
}

/** snap_id → number of images, from the simulator's Glance state. */
export function setsInGlance(images: Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const img of images) {
    const id = img.hotstack_snap_id;
    if (typeof id === 'string') out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}
