/**
 * Shutting the controller itself down over SSH. The host going away mid-command is the expected
 * outcome, so a dropped connection counts as success.
 */
import { ValidationError } from '../shared/errors.js';
import { ControllerShutdownError, tail } from './errors.js';
import { safeCommand, type SafeCommand } from './names.js';
import type { CommandSession } from './ssh.js';

/** What the seed's `community.general.shutdown` does with become. */
export const DEFAULT_CONTROLLER_SHUTDOWN_COMMAND = 'sudo shutdown -h now';

/**
 * The accepted forms of a configured shutdown command: optional `sudo [-n]`, then `shutdown`
 * (`-h`/`-P`, `now`/`+N`), `poweroff` or `systemctl poweroff`, optionally by absolute path.
 * Anything else is refused: this string comes from workflow input.
 */
const SHUTDOWN_FORM = /^(sudo (-n )?)?(\/usr\/sbin\/|\/sbin\/|\/usr\/bin\/)?(shutdown( -[hP])?( now| \+[0-9]{1,3})?|poweroff|systemctl poweroff)$/;

export function controllerShutdownCommand(command: string | undefined): SafeCommand {
  const line = (command ?? DEFAULT_CONTROLLER_SHUTDOWN_COMMAND).trim().replace(/\s+/g, ' ');
  if (!SHUTDOWN_FORM.test(line)) {
    throw new ValidationError([
      {
        path: 'command',
        message: 'shutdown command must be one of: [sudo [-n]] shutdown [-h|-P] [now|+N] | poweroff | systemctl poweroff',
      },
    ]);
  }
  return safeCommand(line.split(' '), 'shutdown');
}

export interface ControllerShutdownResult {
  /** `exited`: the command returned 0; `connection-dropped`: the host went away first. */
  outcome: 'exited' | 'connection-dropped';
}

/** Runs the shutdown command; exit 0 or a dropped connection both mean the host is going down. */
export async function shutdownControllerHost(
  session: CommandSession,
  command: SafeCommand,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ControllerShutdownResult> {
  const result = await session.run(command, {
    timeoutMs: opts.timeoutMs ?? 60_000,
    signal: opts.signal,
    allowNonZeroExit: true,
    allowDrop: true,
  });
  if (result.dropped) return { outcome: 'connection-dropped' };
  if (result.exitCode === 0) return { outcome: 'exited' };
  // sudo asking for a password or refusing the user will not get better by retrying.
  const permanent = result.exitCode === 127 || /password is required|not in the sudoers|not allowed to|a terminal is required/i.test(result.stderr);
  throw new ControllerShutdownError(
    `controller shutdown command exited with ${result.exitCode ?? `signal ${result.signal ?? '?'}`}: ${tail(result.stderr, 300)}`,
    result.exitCode,
    tail(result.stderr),
    !permanent,
  );
}
