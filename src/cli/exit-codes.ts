// Process exit codes (README "Runbook" says what to do for each). systemd's unit lists 65, 76
// and 78 in RestartPreventExitStatus: restarting cannot fix a bad config, and must not paper over
// a detected share inconsistency or a second instance running with this node's identity.
import { isMetanodeError } from '../util/errors.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
/** EX_DATAERR: the node found its threshold share inconsistent with the epoch key. */
export const EXIT_SHARE_INCONSISTENCY = 65;
/** EX_TEMPFAIL: the data directory is locked by another running metanode (its PID is named). */
export const EXIT_DATADIR_LOCKED = 75;
/** EX_PROTOCOL: another instance pings with this node's peer id (doppelganger): do not restart. */
export const EXIT_DOPPELGANGER = 76;
/** EX_CONFIG: the config (or the keystore it points to) is unusable. */
export const EXIT_CONFIG = 78;

export function exitCodeFor(e: unknown): number {
  if (isMetanodeError(e, 'INVALID_CONFIG')) return EXIT_CONFIG;
  if (isMetanodeError(e, 'SHARE_INCONSISTENCY')) return EXIT_SHARE_INCONSISTENCY;
  if (isMetanodeError(e, 'KEYSTORE')) return EXIT_CONFIG;
  if (isMetanodeError(e, 'DATABASE_NEWER')) return EXIT_CONFIG;
  if (isMetanodeError(e, 'DATADIR_LOCKED')) return EXIT_DATADIR_LOCKED;
  if (isMetanodeError(e, 'DOPPELGANGER')) return EXIT_DOPPELGANGER;
  if (e instanceof UsageError) return EXIT_USAGE;
  return EXIT_ERROR;
}

/** A bad command-line argument (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
