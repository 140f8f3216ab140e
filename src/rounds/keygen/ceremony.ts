// Shapes shared by the keygen and regroup ceremonies. A ceremony is plain state plus a pure
// transition `(state, event) -> { state, outbox, log }`; the driver does the I/O the outbox asks for.
import type { ErrorCode } from '../../util/errors.js';
import { MetanodeError, errorMessage } from '../../util/errors.js';
import type { CommitteeMember } from '../../crypto/types.js';
import type { EpochRecord } from '../../epochs/record.js';

export type Outgoing =
  /** Publish on the ceremony's gossip topic. */
  | { to: 'gossip'; type: string; payload: unknown }
  /** Send over a direct (Noise-encrypted) stream to one peer. */
  | { to: 'direct'; peerId: string; type: string; payload: unknown }
  /** Sign this record with the identity key, publish the attestation, and feed it back as a message from self. */
  | { to: 'sign'; record: EpochRecord; extra?: Record<string, unknown> };

export interface LogLine {
  level: 'debug' | 'info' | 'warn';
  msg: string;
  data?: Record<string, unknown>;
}

export interface CeremonyFailure {
  code: ErrorCode;
  message: string;
  /** Peer ids at fault (never this node's guess from a blocklist: what it observed itself). */
  culprits: string[];
  /** Evidence and context: the phase, reported claims, conflicting packages. */
  detail: Record<string, unknown>;
}

export interface Step<S> {
  state: S;
  outbox: Outgoing[];
  log: LogLine[];
}

export interface PhaseTimeouts {
  /** ms per phase; a phase that is not complete by then fails naming the silent members. */
  [phase: string]: number;
}

/** Maps a crypto error (culprits = FROST identifiers) to a failure naming peer ids. */
export function failureFrom(e: unknown, committee: readonly CommitteeMember[], phase: string): CeremonyFailure {
  if (e instanceof MetanodeError) {
    const culprits = e.culprits.map((c) => committee.find((m) => m.identifier === c || m.peerId === c)?.peerId ?? c);
    return { code: e.code, message: e.message, culprits: [...new Set(culprits)], detail: { phase, ...(e.detail ?? {}) } };
  }
  return { code: 'ABORTED', message: errorMessage(e), culprits: [], detail: { phase } };
}

export function failure(code: ErrorCode, message: string, culprits: string[], detail: Record<string, unknown>): CeremonyFailure {
  return { code, message, culprits: [...new Set(culprits)].sort(), detail };
}
