// SQLite persistence of epoch records, their signatures, ceremony failures and verified
// violation evidence. Rows are written only inside transactions; record JSON is re-validated
// when read so a corrupted row is reported, never used.
import type { Db, Migration } from '../store/db.js';
import type { EpochKey } from '../crypto/types.js';
import { MetanodeError } from '../util/errors.js';
import { EpochRecordSchema, AttestationSchema, EpochStatusSchema, recordHash, type EpochRecord, type Attestation, type EpochStatus, type SignedEpochRecord } from './record.js';
import { z } from 'zod';

export const epochMigrations: Migration[] = [
  {
    id: 'epochs-001-records',
    sql: `
      CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('keygen','regroup')),
        record_json TEXT NOT NULL,
        record_hash TEXT NOT NULL,
        key_json TEXT NOT NULL,
        signatures_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('adopted','locked','retired')),
        has_share INTEGER NOT NULL CHECK (has_share IN (0,1)),
        adopted_at INTEGER NOT NULL,
        retired_at INTEGER
      );
      CREATE TABLE epoch_failures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        culprits_json TEXT NOT NULL,
        detail_json TEXT NOT NULL
      );
      CREATE TABLE violations (
        evidence_hash TEXT PRIMARY KEY,
        peer_id TEXT NOT NULL,
        evidence_json TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX violations_peer ON violations (peer_id);
    `,
  },
];

export interface StoredEpoch extends SignedEpochRecord {
  key: EpochKey;
  hasShare: boolean;
  adoptedAt: number;
  retiredAt: number | null;
}

export interface EpochFailure {
  id?: number;
  at: number;
  kind: 'keygen' | 'regroup';
  epoch: number;
  code: string;
  message: string;
  culprits: string[];
  detail: Record<string, unknown>;
}

interface Row {
  epoch: number;
  record_json: string;
  key_json: string;
  signatures_json: string;
  status: string;
  has_share: number;
  adopted_at: number;
  retired_at: number | null;
}

function parseRow(r: Row): StoredEpoch {
  try {
    const record = EpochRecordSchema.parse(JSON.parse(r.record_json));
    const signatures = z.array(AttestationSchema).parse(JSON.parse(r.signatures_json));
    const status = EpochStatusSchema.parse(r.status);
    const key = JSON.parse(r.key_json) as EpochKey;
    if (key.epoch !== record.epoch || key.outputKey !== record.outputKey) throw new Error('key does not match record');
    return { record, signatures, status, key, hasShare: r.has_share === 1, adoptedAt: r.adopted_at, retiredAt: r.retired_at };
  } catch (e) {
    throw new MetanodeError('SHARE_INCONSISTENCY', `epoch ${r.epoch} row is corrupt: ${(e as Error).message}`);
  }
}

export class EpochStore {
  constructor(readonly db: Db) {}

  get(epoch: number): StoredEpoch | null {
    const r = this.db.prepare('SELECT * FROM epochs WHERE epoch = ?').get(epoch) as Row | undefined;
    return r ? parseRow(r) : null;
  }

  /** All epochs ascending. */
  all(): StoredEpoch[] {
    return (this.db.prepare('SELECT * FROM epochs ORDER BY epoch').all() as Row[]).map(parseRow);
  }

  /** Epochs above `epoch`, ascending, at most `limit` (any status: retired ones are links of the chain). */
  after(epoch: number, limit: number): StoredEpoch[] {
    return (this.db.prepare('SELECT * FROM epochs WHERE epoch > ? ORDER BY epoch LIMIT ?').all(epoch, limit) as Row[]).map(parseRow);
  }

  /** Highest epoch in force (adopted or locked). */
  current(): StoredEpoch | null {
    const r = this.db.prepare("SELECT * FROM epochs WHERE status IN ('adopted','locked') ORDER BY epoch DESC LIMIT 1").get() as Row | undefined;
    return r ? parseRow(r) : null;
  }

  maxEpoch(): number {
    const r = this.db.prepare('SELECT MAX(epoch) AS m FROM epochs').get() as { m: number | null };
    return r.m ?? 0;
  }

  /** One transaction: insert the adopted record and retire the listed epochs. */
  adopt(args: { record: EpochRecord; signatures: Attestation[]; key: EpochKey; status: 'adopted' | 'locked'; hasShare: boolean; retire: number[]; at: number }): void {
    const { record, signatures, key, status, hasShare, retire, at } = args;
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO epochs (epoch, kind, record_json, record_hash, key_json, signatures_json, status, has_share, adopted_at) VALUES (?,?,?,?,?,?,?,?,?)')
        .run(record.epoch, record.kind, JSON.stringify(record), recordHash(record), JSON.stringify(key), JSON.stringify(signatures), status, hasShare ? 1 : 0, at);
      const ret = this.db.prepare("UPDATE epochs SET status = 'retired', retired_at = ? WHERE epoch = ? AND status != 'retired'");
      for (const e of retire) ret.run(at, e);
    })();
  }

  /** One transaction: mark a publicly imported epoch as holding this node's share, retire the listed epochs. */
  attachShare(args: { epoch: number; locked: boolean; retire: number[]; at: number }): void {
    const { epoch, locked, retire, at } = args;
    this.db.transaction(() => {
      const r = this.db
        .prepare("UPDATE epochs SET has_share = 1, status = CASE WHEN ? THEN 'locked' ELSE status END WHERE epoch = ? AND has_share = 0 AND status != 'retired'")
        .run(locked ? 1 : 0, epoch);
      if (r.changes !== 1) throw new MetanodeError('SHARE_INCONSISTENCY', `epoch ${epoch} is not a public epoch in force`);
      const ret = this.db.prepare("UPDATE epochs SET status = 'retired', retired_at = ? WHERE epoch = ? AND status != 'retired'");
      for (const e of retire) if (e !== epoch) ret.run(at, e);
    })();
  }

  setStatus(epochs: number[], status: EpochStatus, at: number): void {
    this.db.transaction(() => {
      const st = this.db.prepare('UPDATE epochs SET status = ?, retired_at = CASE WHEN ? = \'retired\' THEN ? ELSE retired_at END WHERE epoch = ?');
      for (const e of epochs) st.run(status, status, at, e);
    })();
  }

  recordFailure(f: EpochFailure): void {
    this.db
      .prepare('INSERT INTO epoch_failures (at, kind, epoch, code, message, culprits_json, detail_json) VALUES (?,?,?,?,?,?,?)')
      .run(f.at, f.kind, f.epoch, f.code, f.message, JSON.stringify(f.culprits), JSON.stringify(f.detail ?? {}));
  }

  failures(limit = 100): EpochFailure[] {
    const rows = this.db.prepare('SELECT * FROM epoch_failures ORDER BY id DESC LIMIT ?').all(limit) as {
      id: number; at: number; kind: 'keygen' | 'regroup'; epoch: number; code: string; message: string; culprits_json: string; detail_json: string;
    }[];
    return rows.map((r) => ({ id: r.id, at: r.at, kind: r.kind, epoch: r.epoch, code: r.code, message: r.message, culprits: JSON.parse(r.culprits_json), detail: JSON.parse(r.detail_json) }));
  }

  /** Stores evidence that already verified (callers pass VerifiedViolation.evidence). */
  addViolation(peerId: string, evidenceJson: string, evidenceHash: string, at: number): boolean {
    const r = this.db.prepare('INSERT OR IGNORE INTO violations (evidence_hash, peer_id, evidence_json, at) VALUES (?,?,?,?)').run(evidenceHash, peerId, evidenceJson, at);
    return r.changes === 1;
  }

  violationRows(): { peerId: string; evidenceJson: string }[] {
    return (this.db.prepare('SELECT peer_id, evidence_json FROM violations ORDER BY at').all() as { peer_id: string; evidence_json: string }[]).map((r) => ({ peerId: r.peer_id, evidenceJson: r.evidence_json }));
  }
}
