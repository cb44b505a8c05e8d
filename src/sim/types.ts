/**
 * The seam between the simulated cloud (Nova) and the simulated controllers (SSH + `oc`): a guest
 * shut down from inside (controller `shutdown`, `oc debug node/N -- chroot /host shutdown -h +1`)
 * turns SHUTOFF in Nova after a delay, just as on a real cloud; a server that runs again (Nova
 * `os-start`, a lab reset) boots its guest, so the controller and the nodes come back.
 */
export interface SimComputeControl {
  /** The guest powers itself off; Nova reports SHUTOFF after `delayMs` (already scaled by the caller). */
  guestShutdown(uuid: string, delayMs: number): void;
  /** Current Nova `status` of the server (`ACTIVE`, `SHUTOFF`, ...), undefined when there is no such server. */
  serverStatus(uuid: string): string | undefined;
  /**
   * Calls `listener` whenever a stopped server runs again (an `os-start` completed, or a reset).
   * Returns the function that removes the listener.
   */
  onPowerOn(listener: (uuid: string) => void): () => void;
  /** A lab reset: the server is ACTIVE at once, whatever it was doing; in-guest shutdowns still pending are void. */
  resetServer(uuid: string): void;
}
