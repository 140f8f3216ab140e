// Sign safety across restarts. Nonces live in memory only, so a restarted node can never finish
// an attempt it committed to; what must survive is the fact that it signed, and what. Before a
// signature share is released, (round id, attempt, message digest) is written durably in one
// SQLite transaction; a node (restarted or not) refuses to sign a different message in a round
// it already signed in.
import type { Db, Migration } from '../../store/db.js';
import { MetanodeError } from '../../util/errors.js';

export const signedSessionMigrations: Migration[] = [
  {
    id: 'signing-001-signed-sessions',
    sql: `
      CREATE TABLE signed_sessions (
        round_id  INTEGER NOT NULL,
        attempt   INTEGER NOT NULL,
        digest    TEXT NOT NULL,
        signed_at INTEGER NOT NULL,
        PRIMARY KEY (round_id, attempt)
      );
    `,
  },
];

export interface SignedSession {
  roundId: number;
  attempt: number;
  digest: string;
  signedAt: number;
}

/**
 * Records that we are about to sign `digest` in (roundId, attempt). Throws DOUBLE_SIGN when this
 * round already holds a signature over a different digest (in any attempt). Signing the same
 * digest again (a later attempt, fresh nonces) is allowed.
 */
export function guardSignedSession(db: Db, s: { roundId: number; attempt: number; digest: string; now: number }): void {
  db.transaction(() => {
    const rows = db.prepare('SELECT attempt, digest FROM signed_sessions WHERE round_id = ?').all(s.roundId) as Array<{ attempt: number; digest: string }>;
    const other = rows.find((r) => r.digest !== s.digest);
    if (other)
      throw new MetanodeError('DOUBLE_SIGN', `round ${s.roundId} already signed ${other.digest} in attempt ${other.attempt}; refusing ${s.digest}`, [], {
        roundId: s.roundId,
        attempt: s.attempt,
      });
    db.prepare('INSERT INTO signed_sessions (round_id, attempt, digest, signed_at) VALUES (?, ?, ?, ?) ON CONFLICT(round_id, attempt) DO NOTHING').run(
      s.roundId,
      s.attempt,
      s.digest,
      s.now,
    );
  }).immediate();
}

export function signedSessions(db: Db, roundId: number): SignedSession[] {
  return (db.prepare('SELECT * FROM signed_sessions WHERE round_id = ? ORDER BY attempt').all(roundId) as Array<{ round_id: number; attempt: number; digest: string; signed_at: number }>).map(
    (r) => ({ roundId: r.round_id, attempt: r.attempt, digest: r.digest, signedAt: r.signed_at }),
  );
}
