/**
 * Types every OpenStack-side activity module shares. They live a floor below the modules, so no
 * activity module imports another.
 */
import type { OpenStackClientProvider } from '../openstack/index.js';

/** What the OpenStack activities need; the worker passes `{ openstack: new CloudsYamlClientProvider() }`. */
export interface OpenstackActivityDeps {
  /** Clients per cloud (clouds.yaml + secure.yaml; `cloud` omitted = `OS_CLOUD` / the only cloud). */
  openstack: OpenStackClientProvider;
}

export interface CloudInput {
  /** clouds.yaml cloud name. @default the worker's OS_CLOUD */
  cloud?: string;
}

/** Parallel REST calls of one activity (tags, deletes, server reads). */
export const REST_PARALLEL = 8;
