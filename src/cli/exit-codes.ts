/**
 * The one place that turns an error into the README's exit code (0 done, 1 failed, 2 usage or bad
 * input, 3 cannot reach — or configure — Temporal or the cloud) and into lines that say the fix.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { rootMessage, SnapsetAlreadyRunningError, TemporalUnreachableError } from '../client.js';
import { CloudConfigError, OpenStackEndpointNotFoundError, OpenStackNetworkError, OpenStackTimeoutError } from '../openstack/index.js';
import { ConfigError, SnapsetError, ValidationError } from '../shared/errors.js';
import { EXIT, type CliIo } from './context.js';

/** gRPC UNAVAILABLE: the frontend went away after the connection was made. */
const GRPC_UNAVAILABLE = 14;

/** What to set when no clouds.yaml was found: OS_CLIENT_CONFIG_FILE, and the simulator's file when there is one here. */
export function cloudConfigFix(cwd = process.cwd()): string {
  const sim = join(cwd, '.sim', 'clouds.yaml');
  return existsSync(sim)
    ? 'the simulator’s is here: export OS_CLIENT_CONFIG_FILE=.sim/clouds.yaml OS_CLOUD=sim'
    : 'set OS_CLIENT_CONFIG_FILE to your clouds.yaml and OS_CLOUD (or --cloud) to a cloud in it';
}

/** Whether the error says the cloud cannot be reached or is not configured (exit 3). */
export function isCloudUnavailable(err: unknown): boolean {
  return (
    err instanceof CloudConfigError ||
    err instanceof OpenStackEndpointNotFoundError ||
    err instanceof OpenStackNetworkError ||
    err instanceof OpenStackTimeoutError
  );
}

/** Prints what went wrong and what to do on `io.err`; returns the exit code. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof ValidationError) {
    io.err(`snapset: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof TemporalUnreachableError) {
    io.err(`snapset: ${err.message}`);
    return EXIT.unreachable;
  }
  if (hasGrpcCode(err, GRPC_UNAVAILABLE)) {
    io.err(`snapset: lost the Temporal service: ${rootMessage(err)}`);
    return EXIT.unreachable;
  }
  if (err instanceof CloudConfigError || err instanceof OpenStackEndpointNotFoundError) {
    io.err(`snapset: cannot use the cloud: ${err.message}`);
    io.err(`  → ${/no clouds\.yaml found/.test(err.message) ? cloudConfigFix() : 'fix that clouds.yaml (or pick another cloud with --cloud / OS_CLOUD)'}`);
    return EXIT.unreachable;
  }
  if (err instanceof OpenStackNetworkError || err instanceof OpenStackTimeoutError) {
    io.err(`snapset: cannot reach the cloud: ${err.message}`);
    io.err('  → is the cloud up at that address (the simulator: is npm run sim running)? OS_CLIENT_CONFIG_FILE / OS_CLOUD pick the clouds.yaml and cloud');
    return EXIT.unreachable;
  }
  if (err instanceof ConfigError) {
    io.err(`snapset: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof WorkflowNotFoundError) {
    io.err(`snapset: no SnapSet run ${err.workflowId ?? ''} in this namespace (snapset runs shows the runs)`);
    return EXIT.failed;
  }
  if (err instanceof SnapsetAlreadyRunningError || err instanceof SnapsetError) {
    io.err(`snapset: ${err.message}`);
    return EXIT.failed;
  }
  const top = (err as Error).message ?? String(err);
  const root = rootMessage(err);
  io.err(`snapset: ${top}${root && root !== top ? `: ${root}` : ''}`);
  return EXIT.failed;
}

function hasGrpcCode(err: unknown, code: number): boolean {
  for (let e = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}
