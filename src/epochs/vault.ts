// Where a node keeps its secret shares, one per epoch. The encrypted file keystore (src/keystore)
// implements this port; InMemoryShareVault is for tests and tools. A share present in the vault
// counts for nothing until the epochs store has an adopted record for its epoch: that is what
// makes adoption atomic (see EpochManager.adopt/reconcile).
import type { KeyShare } from '../crypto/types.js';
import { MetanodeError } from '../util/errors.js';

export interface ShareVault {
  /** Durably writes the share for `epoch` (replacing any earlier file for that epoch). */
  save(epoch: number, share: KeyShare): Promise<void>;
  /** null when there is no share for `epoch`. */
  load(epoch: number): Promise<KeyShare | null>;
  /** Irrecoverably deletes the share; no-op when absent. */
  destroy(epoch: number): Promise<void>;
  /** Epochs that have a share, ascending. */
  list(): Promise<number[]>;
  /**
   * Moves the share of `epoch` out of use, keeping it (a quarantine folder): it no longer appears
   * in list()/load(). Returns where it went, for the operator.
   */
  quarantine(epoch: number): Promise<string>;
  /** Where quarantined shares are (oldest first), for the operator. */
  listQuarantined(): Promise<string[]>;
}

export class InMemoryShareVault implements ShareVault {
  private readonly shares = new Map<number, KeyShare>();
  readonly quarantined: { location: string; share: KeyShare }[] = [];

  async save(epoch: number, share: KeyShare): Promise<void> {
    if (!Number.isSafeInteger(epoch) || epoch < 1) throw new MetanodeError('KEYSTORE', `bad epoch ${epoch}`);
    if (share.epoch !== epoch) throw new MetanodeError('KEYSTORE', `share is for epoch ${share.epoch}, not ${epoch}`);
    this.shares.set(epoch, { ...share });
  }
  async load(epoch: number): Promise<KeyShare | null> {
    const s = this.shares.get(epoch);
    return s ? { ...s } : null;
  }
  async destroy(epoch: number): Promise<void> {
    this.shares.delete(epoch);
  }
  async list(): Promise<number[]> {
    return [...this.shares.keys()].sort((a, b) => a - b);
  }
  async quarantine(epoch: number): Promise<string> {
    const s = this.shares.get(epoch);
    if (!s) throw new MetanodeError('KEYSTORE', `no share for epoch ${epoch} to quarantine`);
    const location = `memory:quarantine/share-${epoch}#${this.quarantined.length + 1}`;
    this.quarantined.push({ location, share: s });
    this.shares.delete(epoch);
    return location;
  }
  async listQuarantined(): Promise<string[]> {
    return this.quarantined.map((q) => q.location);
  }
}
