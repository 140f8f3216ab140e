// Adoption of epoch keys with crash safety, and the bookkeeping of which epochs still matter.
//
// Adoption order (a restart at any point leaves the old key or the new one, never a mix):
//   1. the new share is written to the ShareVault under its own epoch (a "pending" share: no
//      adopted record points to it yet);
//   2. one SQLite transaction inserts the adopted record and retires what it replaces;
//   3. shares of retired epochs are destroyed.
// reconcile() on start finishes 3 (shares of retired epochs are destroyed, each logged) and sets
// 1 aside: a share whose epoch has no adopted record (an interrupted ceremony, or a keys/
// directory restored without its database) is moved to the vault's quarantine, never deleted.
// A crash before 2 leaves the old epoch current; after 2, the new one.
//
// Every adoption, from this node's own ceremony (adopt) or from epoch sync (importPublic),
// passes the same trust rules first (src/epochs/adoption.ts, checkAdoption).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { EpochKey, KeyShare } from '../crypto/types.js';
import { MetanodeError } from '../util/errors.js';
import type { Db } from '../store/db.js';
import { EpochStore, type StoredEpoch, type EpochFailure } from './store.js';
import type { ShareVault } from './vault.js';
import type { Attestation, EpochRecord, SignedEpochRecord } from './record.js';
import { canonicalJson, epochKeyHash, recordHash } from './record.js';
import { EquivocationEvidenceSchema, type VerifiedViolation } from './evidence.js';
import { checkAdoption, type AdoptionRules, type AdoptionVerdict } from './adoption.js';
import { verifyAttestation, verifyWithPeerId, type VerifyFn } from './attest.js';
import type { StakedPeer } from '../rounds/committee.js';

/** What the trust rules need from the node: its configuration and its own view of the stake. */
export interface AdoptionPolicy {
  rules(): AdoptionRules;
  /** Staked peers this node knows (its own chain checks), liveness and blocklist ignored. */
  staked(): readonly StakedPeer[];
  verify?: VerifyFn;
}

/** One share file destroyed (retirement) or set aside (quarantine), for the node's log. */
export interface ShareEvent {
  action: 'destroyed' | 'quarantined';
  epoch: number;
  reason: string;
  /** Where a quarantined share now is. */
  location?: string;
}

export interface EpochManagerOptions {
  policy: AdoptionPolicy;
  now?: () => number;
  onShare?: (e: ShareEvent) => void;
}

export interface AdoptArgs {
  record: EpochRecord;
  signatures: Attestation[];
  key: EpochKey;
  /** This node's share of the new epoch; null when it is not in the new committee. */
  share: KeyShare | null;
  /** Epochs whose shares this adoption makes useless (regroup: the epoch it reshared). */
  retire: number[];
  /** Keep the lock: a regroup of a locked key stays locked. */
  locked?: boolean;
}

export interface ImportPublicOptions {
  /** Keep a lock: a regroup of a locked key stays locked. */
  locked?: boolean;
  /**
   * Older epochs this record supersedes (a verified regroup: the epoch it reshared, same key
   * and address). They are marked retired in the same transaction and their shares destroyed.
   */
  retire?: number[];
}

export interface SweepSource {
  epoch: number;
  vaultAddress: string;
  key: EpochKey;
}

/** A ceremony result whose attestations did not all arrive in time (see holdUnattested). */
interface Unattested {
  record: EpochRecord;
  hash: string;
  key: EpochKey;
  share: KeyShare;
}

export class EpochManager {
  readonly store: EpochStore;
  private unattested: Unattested | null = null;
  private readonly now: () => number;
  private readonly policy: AdoptionPolicy;
  private readonly onShare: (e: ShareEvent) => void;

  constructor(db: Db, readonly vault: ShareVault, readonly selfPeerId: string, opts: EpochManagerOptions) {
    this.store = new EpochStore(db);
    this.policy = opts.policy;
    this.now = opts.now ?? Date.now;
    this.onShare = opts.onShare ?? (() => {});
  }

  /**
   * The trust rules for `record` with these signatures, on this node's view now: signatures are
   * verified here, then checkAdoption decides. Same answer for a ceremony result and a synced record.
   */
  async judge(record: EpochRecord, signatures: readonly Attestation[]): Promise<AdoptionVerdict> {
    const verify = this.policy.verify ?? verifyWithPeerId;
    const signers: string[] = [];
    const invalid: string[] = [];
    for (const a of signatures) {
      if (signers.includes(a.peerId) || invalid.includes(a.peerId)) continue;
      if (await verifyAttestation(record, a, verify)) signers.push(a.peerId);
      else invalid.push(a.peerId);
    }
    const previous = record.previousEpoch === null ? null : (this.store.get(record.previousEpoch)?.record ?? null);
    return checkAdoption({ record, signers, invalidSigners: invalid, previous, current: this.store.current()?.record ?? null, staked: this.policy.staked(), rules: this.policy.rules() });
  }

  private async admit(record: EpochRecord, signatures: readonly Attestation[]): Promise<void> {
    const v = await this.judge(record, signatures);
    if (!v.ok) throw new MetanodeError('ADOPTION_REFUSED', `epoch ${record.epoch} refused (${v.rule}): ${v.reason}`, [], { rule: v.rule, retry: v.retry });
  }

  private async destroyShare(epoch: number, reason: string): Promise<void> {
    if (!(await this.vault.list()).includes(epoch)) return;
    await this.vault.destroy(epoch);
    this.onShare({ action: 'destroyed', epoch, reason });
  }

  /**
   * Start-up repair (call once, before any ceremony or sync runs). A share of a retired epoch is
   * destroyed (its retirement was committed; the crash came before the file went). A share whose
   * epoch has no adopted record here is moved to the vault's quarantine and reported, never
   * deleted: it may be an interrupted ceremony, or keys/ restored without the matching database.
   * Then checkCurrentShare().
   */
  async reconcile(): Promise<{ destroyed: number[]; quarantined: { epoch: number; location: string }[]; current: number | null }> {
    const byEpoch = new Map(this.store.all().map((e) => [e.record.epoch, e]));
    const destroyed: number[] = [];
    const quarantined: { epoch: number; location: string }[] = [];
    for (const epoch of await this.vault.list()) {
      const e = byEpoch.get(epoch);
      if (e && e.status === 'retired') {
        await this.destroyShare(epoch, `epoch ${epoch} is retired (its retirement was committed before a restart)`);
        destroyed.push(epoch);
      } else if (!e || !e.hasShare) {
        const location = await this.vault.quarantine(epoch);
        quarantined.push({ epoch, location });
        this.onShare({
          action: 'quarantined',
          epoch,
          location,
          reason: e
            ? `epoch ${epoch} is stored here as a public epoch without this node's share: the file may be a ceremony result that was never adopted`
            : `no adopted record for epoch ${epoch} in this database: an interrupted ceremony, or keys/ restored without its database`,
        });
      }
    }
    await this.checkCurrentShare();
    const cur = this.store.current();
    return { destroyed, quarantined, current: cur ? cur.record.epoch : null };
  }

  /**
   * Throws SHARE_INCONSISTENCY when the current epoch names this node but its share is gone
   * (signing with a guess is worse than stopping; the systemd unit does not restart on that exit
   * code), naming the quarantined share files that may hold it. Changes nothing on disk.
   */
  async checkCurrentShare(): Promise<void> {
    const cur = this.store.current();
    if (!cur || !cur.hasShare || (await this.vault.load(cur.record.epoch))) return;
    const q = await this.vault.listQuarantined();
    throw new MetanodeError(
      'SHARE_INCONSISTENCY',
      `epoch ${cur.record.epoch} is adopted with a share for this node, but the share is missing` +
        (q.length ? `; quarantined share files that may hold it: ${q.join(', ')}` : '; no quarantined share files'),
      [],
      { epoch: cur.record.epoch, quarantined: q },
    );
  }

  async adopt(a: AdoptArgs): Promise<void> {
    const { record } = a;
    if (this.unattested && this.unattested.record.epoch <= record.epoch && this.unattested.hash !== recordHash(record)) this.unattested = null;
    const have = this.store.get(record.epoch);
    if (have && a.share && !have.hasShare && have.status !== 'retired' && recordHash(have.record) === recordHash(record)) {
      // Epoch sync stored this record (public) before this node's own ceremony finished with
      // the same record: attach the share instead of refusing the epoch as "not newer".
      if (a.share.epoch !== record.epoch || epochKeyHash(a.key) !== record.keyHash) throw new MetanodeError('SHARE_INCONSISTENCY', 'share or key does not match the record');
      if (!record.committee.some((m) => m.peerId === this.selfPeerId && m.identifier === a.share!.identifier))
        throw new MetanodeError('SHARE_INCONSISTENCY', 'share given for a committee this node is not in');
      await this.vault.save(record.epoch, a.share);
      this.store.attachShare({ epoch: record.epoch, locked: a.locked === true, retire: a.retire, at: this.now() });
      for (const e of a.retire) if (e !== record.epoch) await this.destroyShare(e, `epoch ${e} retired: regroup epoch ${record.epoch} reshared its key`);
      return;
    }
    const cur = this.store.current();
    if (cur && record.epoch <= cur.record.epoch)
      throw new MetanodeError('SHARE_INCONSISTENCY', `epoch ${record.epoch} is not newer than the current epoch ${cur.record.epoch}`);
    await this.admit(record, a.signatures);
    if (a.key.epoch !== record.epoch || a.key.outputKey !== record.outputKey)
      throw new MetanodeError('SHARE_INCONSISTENCY', 'key material does not match the record');
    const member = record.committee.some((m) => m.peerId === this.selfPeerId);
    if (member !== (a.share !== null)) throw new MetanodeError('SHARE_INCONSISTENCY', member ? 'member of the new committee but no share' : 'share given for a committee this node is not in');
    if (a.share) {
      if (a.share.epoch !== record.epoch) throw new MetanodeError('SHARE_INCONSISTENCY', 'share epoch does not match the record');
      await this.vault.save(record.epoch, a.share);
    }
    this.store.adopt({ record, signatures: a.signatures, key: a.key, status: a.locked ? 'locked' : 'adopted', hasShare: a.share !== null, retire: a.retire, at: this.now() });
    for (const e of a.retire) await this.destroyShare(e, `epoch ${e} retired: regroup epoch ${record.epoch} reshared its key`);
  }

  /**
   * Stores an epoch learned from peers as PUBLIC: record, signatures and key, no share. The
   * caller has verified it (epochs/sync.ts importEpochs does). Returns 'known' when the very
   * same record is already stored (nothing changes, an adopted share stays attached). A
   * different record for a stored epoch is never written over: it throws PROTOCOL_VIOLATION,
   * because two fully signed records for one epoch are equivocation, and a share must never be
   * detached from the record it was adopted with.
   */
  async importPublic(signed: { record: EpochRecord; signatures: Attestation[] }, key: EpochKey, opts: ImportPublicOptions = {}): Promise<'imported' | 'known'> {
    const { record } = signed;
    if (key.epoch !== record.epoch || key.outputKey !== record.outputKey || epochKeyHash(key) !== record.keyHash)
      throw new MetanodeError('INVALID_INPUT', `key material does not match the record of epoch ${record.epoch}`);
    const have = this.store.get(record.epoch);
    if (have) {
      if (recordHash(have.record) === recordHash(record)) return 'known';
      throw new MetanodeError('PROTOCOL_VIOLATION', `epoch ${record.epoch} is stored with a different record (${recordHash(have.record).slice(0, 16)}); not replaced`, [], {
        stored: recordHash(have.record),
        offered: recordHash(record),
      });
    }
    await this.admit(record, signed.signatures);
    const retire = [...new Set(opts.retire ?? [])].filter((e) => e < record.epoch && this.store.get(e)?.status !== 'retired' && this.store.get(e) !== null);
    // Our own result for this very record (held after an attestation timeout): the share goes
    // in first and the record is stored with it in one step, so the epoch is never current here
    // without the share (pings announcing it would carry no tss_proof).
    const held = this.takeUnattested(record);
    if (held) await this.vault.save(record.epoch, held.share);
    this.store.adopt({ record, signatures: signed.signatures, key, status: opts.locked ? 'locked' : 'adopted', hasShare: held !== null, retire, at: this.now() });
    // A crash here leaves retired epochs with shares; reconcile() destroys them on start.
    for (const e of retire) await this.destroyShare(e, `epoch ${e} retired: imported regroup epoch ${record.epoch} reshared its key`);
    return 'imported';
  }

  /** The held result computed for exactly this record and this node's committee seat, taken out. */
  private takeUnattested(record: EpochRecord): Unattested | null {
    const u = this.unattested;
    if (!u || u.record.epoch !== record.epoch || u.hash !== recordHash(record)) return null;
    if (!record.committee.some((m) => m.peerId === this.selfPeerId && m.identifier === u.share.identifier)) return null;
    this.unattested = null;
    return u;
  }

  /**
   * Keeps the result of a ceremony that timed out waiting for attestations. Every member signs
   * the record only after it computed its own share, so a member whose attestation we missed
   * may still have completed and adopted; its peers then learn the fully signed record by epoch
   * sync. Without the share kept here, such a member would import the record as public and end
   * up in the committee with no share (and, for a regroup, with its old share retired): the
   * committee would lose the key. In memory only: a restart forgets it (it was never written). If the very record is already stored (sync was first), attaches now.
   */
  async holdUnattested(r: { record: EpochRecord; key: EpochKey; share: KeyShare }): Promise<boolean> {
    if (r.share.epoch !== r.record.epoch || epochKeyHash(r.key) !== r.record.keyHash) return false;
    this.unattested = { ...r, hash: recordHash(r.record) };
    const have = this.store.get(r.record.epoch);
    return have ? this.attachUnattested(r.record.epoch, have.status === 'locked') : false;
  }

  /** Attaches the held share when the stored public record of `epoch` is the one it was computed for. */
  private async attachUnattested(epoch: number, locked: boolean): Promise<boolean> {
    const have = this.store.get(epoch);
    if (!have || have.hasShare || have.status === 'retired') return false;
    const u = this.takeUnattested(have.record);
    if (!u) return false;
    const prev = u.record.previousEpoch;
    const retire = u.record.kind === 'regroup' && prev !== null ? [prev] : [];
    await this.adopt({ record: have.record, signatures: have.signatures, key: u.key, share: u.share, retire, locked });
    return true;
  }

  current(): StoredEpoch | null {
    return this.store.current();
  }

  /** Current key and this node's share, both for the same epoch, or null. */
  async currentKeyAndShare(): Promise<{ key: EpochKey; share: KeyShare | null; record: EpochRecord } | null> {
    const cur = this.store.current();
    if (!cur) return null;
    const share = cur.hasShare ? await this.vault.load(cur.record.epoch) : null;
    if (cur.hasShare && !share) throw new MetanodeError('SHARE_INCONSISTENCY', `share for epoch ${cur.record.epoch} is missing`);
    return { key: cur.key, share, record: cur.record };
  }

  async loadShare(epoch: number): Promise<KeyShare | null> {
    const e = this.store.get(epoch);
    if (!e || e.status === 'retired' || !e.hasShare) return null;
    return this.vault.load(epoch);
  }

  /** For GET /v1/epochs. */
  signedRecords(): SignedEpochRecord[] {
    return this.store.all().map(({ record, signatures, status }) => ({ record, signatures, status }));
  }

  /** After keygen_until: the current key stays for good. */
  lockIn(): boolean {
    const cur = this.store.current();
    if (!cur || cur.status === 'locked') return false;
    this.store.setStatus([cur.record.epoch], 'locked', this.now());
    return true;
  }

  isLocked(): boolean {
    return this.store.current()?.status === 'locked';
  }

  /**
   * Earlier epochs whose vault may still hold funds: not retired, older than the current one,
   * and at an address other than the current vault (a regroup keeps the address, so nothing
   * to sweep there). The next custody round spends them to the current vault.
   */
  sweepSources(): SweepSource[] {
    const cur = this.store.current();
    if (!cur) return [];
    const seen = new Set<string>([cur.record.vaultAddress]);
    const out: SweepSource[] = [];
    for (const e of this.store.all().reverse()) {
      if (e.status === 'retired' || e.record.epoch >= cur.record.epoch || seen.has(e.record.vaultAddress)) continue;
      seen.add(e.record.vaultAddress);
      out.push({ epoch: e.record.epoch, vaultAddress: e.record.vaultAddress, key: e.key });
    }
    return out.sort((a, b) => a.epoch - b.epoch);
  }

  /**
   * Earlier epochs whose shares can go: the caller reports what is left at each epoch's
   * addresses (vault and deposit addresses); an epoch with no entry is kept (unknown is not empty).
   */
  retirableEpochs(balances: ReadonlyMap<number, bigint> | Readonly<Record<number, bigint>>): number[] {
    const get = (e: number): bigint | undefined => (balances instanceof Map ? balances.get(e) : (balances as Record<number, bigint>)[e]);
    return this.sweepSources()
      .filter((s) => get(s.epoch) === 0n)
      .map((s) => s.epoch);
  }

  /** Marks epochs retired (one transaction), then destroys their shares. */
  async retire(epochs: number[]): Promise<void> {
    const cur = this.store.current();
    if (cur && epochs.includes(cur.record.epoch)) throw new MetanodeError('INVALID_INPUT', 'cannot retire the current epoch');
    this.store.setStatus(epochs, 'retired', this.now());
    for (const e of epochs) await this.destroyShare(e, `epoch ${e} retired: its addresses are empty`);
  }

  recordFailure(f: Omit<EpochFailure, 'at'> & { at?: number }): void {
    this.store.recordFailure({ ...f, at: f.at ?? this.now() });
  }

  recordViolation(v: VerifiedViolation): boolean {
    const json = canonicalJson(v.evidence);
    return this.store.addViolation(v.peerId, json, bytesToHex(sha256(utf8ToBytes(json))), this.now());
  }

  /** Stored evidence (it was verified before it was stored). */
  violations(): VerifiedViolation[] {
    return this.store.violationRows().map((r) => ({ peerId: r.peerId, evidence: EquivocationEvidenceSchema.parse(JSON.parse(r.evidenceJson)) }) as VerifiedViolation);
  }
}
