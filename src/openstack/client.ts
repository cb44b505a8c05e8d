import { ComputeClient } from './compute.js';
import { loadCloudConfig, type CloudConfig, type ConfigLookupOptions } from './config.js';
import { ImageClient } from './image.js';
import { Session, type SessionOptions } from './session.js';
import { VolumeClient } from './volume.js';

/** Everything needed to talk to one cloud: its session (token) and the service clients. */
export interface OpenStackClient {
  readonly cloud: CloudConfig;
  readonly session: Session;
  readonly compute: ComputeClient;
  readonly image: ImageClient;
  readonly volume: VolumeClient;
  close(): void;
}

export interface ClientOptions extends SessionOptions {
  /** Nova microversion to request (≥ 2.45). @default DEFAULT_COMPUTE_MICROVERSION */
  computeMicroversion?: string;
  /** Cinder microversion to request (3.x). @default DEFAULT_VOLUME_MICROVERSION */
  volumeMicroversion?: string;
}

export function createOpenStackClient(cloud: CloudConfig, opts: ClientOptions = {}): OpenStackClient {
  const session = new Session(cloud, opts);
  return {
    cloud,
    session,
    compute: new ComputeClient(session, { microversion: opts.computeMicroversion }),
    image: new ImageClient(session),
    volume: new VolumeClient(session, { microversion: opts.volumeMicroversion }),
    close: () => session.close(),
  };
}

/** What activities need: a client for a named cloud (or the default one). */
export interface OpenStackClientProvider {
  client(cloud?: string): Promise<OpenStackClient>;
}

export interface CloudsYamlProviderOptions extends ClientOptions {
  /** Cloud used when a call names none. @default the lookup's OS_CLOUD, else the only cloud in clouds.yaml */
  defaultCloud?: string;
  /** Where clouds.yaml is looked up (env, cwd, home). */
  lookup?: ConfigLookupOptions;
}

/**
 * Resolves clouds from clouds.yaml like openstacksdk and keeps one client per cloud, so that each
 * cloud's token is issued once and re-used by every activity of the worker.
 */
export class CloudsYamlClientProvider implements OpenStackClientProvider {
  /** By the name asked for ('' = default cloud). */
  private readonly byKey = new Map<string, Promise<OpenStackClient>>();
  /** By the resolved cloud name: two spellings of one cloud share one client and token. */
  private readonly byName = new Map<string, OpenStackClient>();

  constructor(private readonly opts: CloudsYamlProviderOptions = {}) {}

  async client(cloud?: string): Promise<OpenStackClient> {
    const key = cloud || this.opts.defaultCloud || '';
    let p = this.byKey.get(key);
    if (!p) {
      p = (async () => {
        const cfg = await loadCloudConfig(key || undefined, this.opts.lookup);
        let c = this.byName.get(cfg.name);
        if (!c) {
          c = createOpenStackClient(cfg, this.opts);
          this.byName.set(cfg.name, c);
        }
        return c;
      })();
      this.byKey.set(key, p);
      // A bad configuration is not cached: fixing clouds.yaml must not need a worker restart.
      void p.catch(() => this.byKey.delete(key));
    }
    return await p;
  }

  /** Closes every client's pooled connections. */
  close(): void {
    for (const c of this.byName.values()) c.close();
    this.byName.clear();
    this.byKey.clear();
  }
}
