// Process exit codes. systemd's unit lists 65 and 78 in RestartPreventExitStatus: restarting
// cannot fix a bad config, and must not paper over a detected share inconsistency.
import { isMetanodeError } from '../util/errors.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
/** EX_DATAERR: the node found its threshold share inconsistent with the epoch key. */
export const EXIT_SHARE_INCONSISTENCY = 65;
/** EX_CONFIG: the config (or the keystore it points to) is unusable. */
export const EXIT_CONFIG = 78;

export function exitCodeFor(e: unknown): number {
  if (isMetanodeError(e, 'INVALID_CONFIG')) return EXIT_CONFIG;
  if (isMetanodeError(e, 'SHARE_INCONSISTENCY')) return EXIT_SHARE_INCONSISTENCY;
  if (isMetanodeError(e, 'KEYSTORE')) return EXIT_CONFIG;
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
