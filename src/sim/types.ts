/**
 * The seam between the simulated cloud (Nova) and the simulated controller (SSH + `oc`): a guest
 * shut down from inside (controller `shutdown`, `oc debug node/N -- chroot /host shutdown -h +1`)
 * turns SHUTOFF in Nova after a delay, just as on a real cloud.
 */
export interface SimComputeControl {
  /** The guest powers itself off; Nova reports SHUTOFF after `delayMs` (already scaled by the caller). */
  guestShutdown(uuid: string, delayMs: number): void;
  /** Current Nova `status` of the server (`ACTIVE`, `SHUTOFF`, ...), undefined when there is no such server. */
  serverStatus(uuid: string): string | undefined;
}
