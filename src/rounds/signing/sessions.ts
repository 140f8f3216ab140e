// Sign safety across restarts. Nonces live in memory only, so a restarted node can never finish
// an attempt it committed to; what must survive is the fact that it signed, and what. Before a
// signature share is released, (round id, attempt, message digest) is written durably in one
// SQLite transaction; a node (restarted or not) refuses to sign a different message in a round
// it already signed in. The same transaction records a digest of each of this node's own nonce
// commitments the share is made with: a commitment seen in two sessions would mean a reused nonce
// (which leaks the share), so the guard refuses it (NONCE_REUSE), and the chaos harness checks
// the table across every node's database.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { NonceCommitment } from '../../crypto/signing.js';
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
  {
    id: 'signing-002-signed-commitments',
    sql: `
      CREATE TABLE signed_commitments (
        commitment TEXT PRIMARY KEY,
        round_id   INTEGER NOT NULL,
        attempt    INTEGER NOT NULL,
        signed_at  INTEGER NOT NULL
      );
    `,
  },
];

/** sha256(hiding || binding) of one nonce commitment: what signed_commitments stores. */
export function commitmentDigest(c: Pick<NonceCommitment, 'hiding' | 'binding'>): string {
  const h = hexToBytes(c.hiding);
  const b = hexToBytes(c.binding);
  const both = new Uint8Array(h.length + b.length);
  both.set(h);
  both.set(b, h.length);
  return bytesToHex(sha256(both));
}

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
export function guardSignedSession(db: Db, s: { roundId: number; attempt: number; digest: string; now: number; commitments?: string[] }): void {
  db.transaction(() => {
    const used = db.prepare('SELECT round_id, attempt FROM signed_commitments WHERE commitment = ?');
    for (const c of s.commitments ?? []) {
      const r = used.get(c) as { round_id: number; attempt: number } | undefined;
      if (r && (r.round_id !== s.roundId || r.attempt !== s.attempt))
        throw new MetanodeError('NONCE_REUSE', `nonce commitment ${c.slice(0, 16)}… already signed with in round ${r.round_id} attempt ${r.attempt}`, [], {
          roundId: s.roundId,
          attempt: s.attempt,
        });
    }
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
    const add = db.prepare('INSERT INTO signed_commitments (commitment, round_id, attempt, signed_at) VALUES (?, ?, ?, ?) ON CONFLICT(commitment) DO NOTHING');
    for (const c of s.commitments ?? []) add.run(c, s.roundId, s.attempt, s.now);
  }).immediate();
}

export function signedSessions(db: Db, roundId: number): SignedSession[] {
  return (db.prepare('SELECT * FROM signed_sessions WHERE round_id = ? ORDER BY attempt').all(roundId) as Array<{ round_id: number; attempt: number; digest: string; signed_at: number }>).map(
    (r) => ({ roundId: r.round_id, attempt: r.attempt, digest: r.digest, signedAt: r.signed_at }),
  );
}

export interface SignedCommitment {
  commitment: string;
  roundId: number;
  attempt: number;
  signedAt: number;
}

/** Every own nonce commitment this node released a signature share with, oldest first. */
export function signedCommitments(db: Db): SignedCommitment[] {
  return (db.prepare('SELECT * FROM signed_commitments ORDER BY signed_at, round_id, attempt').all() as Array<{ commitment: string; round_id: number; attempt: number; signed_at: number }>).map(
    (r) => ({ commitment: r.commitment, roundId: r.round_id, attempt: r.attempt, signedAt: r.signed_at }),
  );
}
