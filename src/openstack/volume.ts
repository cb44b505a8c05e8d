// TEMPORARY interface (replaced by the cinder-sim branch's implementation at merge).
import type { CallOptions } from './compute.js';
export interface Volume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  bootable: boolean;
  attachments: { serverId: string; device: string | null; attachmentId?: string }[];
  metadata: Record<string, string>;
  raw: Record<string, unknown>;
}
export interface VolumeSnapshot {
  id: string;
  name: string | null;
  status: string;
  volumeId: string;
  size: number;
  metadata: Record<string, string>;
  createdAt: string;
  raw: Record<string, unknown>;
}
export interface SnapshotListFilters {
  metadata?: Record<string, string>;
  status?: string;
  volumeId?: string;
  name?: string;
  limit?: number;
  marker?: string;
}
export declare class VolumeClient {
  getVolume(id: string, opts?: CallOptions): Promise<Volume>;
  createSnapshot(
    req: { volumeId: string; name: string; description?: string; force?: boolean; metadata?: Record<string, string> },
    opts?: CallOptions,
  ): Promise<VolumeSnapshot>;
  getSnapshot(id: string, opts?: CallOptions): Promise<VolumeSnapshot>;
  listSnapshots(f?: SnapshotListFilters, opts?: CallOptions): AsyncGenerator<VolumeSnapshot>;
  listAllSnapshots(f?: SnapshotListFilters, opts?: CallOptions): Promise<VolumeSnapshot[]>;
  setSnapshotMetadata(id: string, metadata: Record<string, string>, opts?: CallOptions): Promise<Record<string, string>>;
  deleteSnapshot(id: string, opts?: CallOptions): Promise<void>;
}
declare module './compute.js' {
  interface ComputeClient {
    listVolumeAttachments(
      serverId: string,
      opts?: CallOptions,
    ): Promise<{ id: string; volumeId: string; serverId: string; device: string | null; tag?: string | null }[]>;
  }
}
