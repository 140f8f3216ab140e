import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { epochMigrations } from '../../src/epochs/store.js';
import { EpochManager } from '../../src/epochs/manager.js';
import { InMemoryShareVault } from '../../src/epochs/vault.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import type { EpochKey, KeyShare } from '../../src/crypto/types.js';
import type { EpochRecord } from '../../src/epochs/record.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { placeholderVerify, stakedInOrder, testPolicy, TEST_ATTEMPT } from '../support/epoch-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'metanode-epochs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SELF = 'selfPeer';
const committee = membersInOrder([SELF, 'p2', 'p3']);
const policy = testPolicy(() => stakedInOrder([SELF, 'p2', 'p3']), {}, placeholderVerify);
/** Placeholder signatures of every member (storage tests: placeholderVerify accepts them). */
const signatures = committee.map((m) => ({ peerId: m.peerId, signature: '00'.repeat(64) }));
function material(epoch: number, kind: 'keygen' | 'regroup', outputKey: string, vault: string) {
  const key: EpochKey = { epoch, network: 'regtest', outputKey, internalKey: 'ee'.repeat(32), threshold: 3, committee, verifyingShares: {}, commitments: [] };
  const record: EpochRecord = {
    version: 1, kind, network: 'regtest', epoch, attempt: TEST_ATTEMPT, previousEpoch: epoch > 1 ? epoch - 1 : null, outputKey, internalKey: 'ee'.repeat(32),
    vaultAddress: vault, committee, threshold: 3, transcriptHash: '01'.repeat(32), keyHash: '02'.repeat(32), testSignature: null,
  };
  const share: KeyShare = { epoch, identifier: committee[0].identifier, signingShare: epoch.toString(16).padStart(64, '0') };
  return { key, record, share };
}
const V1 = 'bcrt1p' + 'a'.repeat(58);
const V2 = 'bcrt1p' + 'b'.repeat(58);

/** A vault that "crashes" (throws) on the next destroy. */
class CrashingVault extends InMemoryShareVault {
  crashOnDestroy = false;
  override async destroy(epoch: number): Promise<void> {
    if (this.crashOnDestroy) throw new Error('simulated crash');
    return super.destroy(epoch);
  }
}

test('restart mid-ceremony (share written, record not committed): old key, pending share quarantined, not deleted', async () => {
  const path = join(dir, 'a.db');
  const vault = new CrashingVault();
  let m = new EpochManager(openDb(path, epochMigrations), vault, SELF, { policy });
  const e1 = material(1, 'keygen', 'aa'.repeat(32), V1);
  await m.adopt({ ...e1, signatures, retire: [] });
  // Regroup reached the switch: the new share hits the vault, then the process dies.
  const e2 = material(2, 'regroup', 'aa'.repeat(32), V1);
  await vault.save(2, e2.share);
  m.store.db.close();

  m = new EpochManager(openDb(path, epochMigrations), vault, SELF, { policy });
  const rec = await m.reconcile();
  assert.deepEqual(rec, { destroyed: [], quarantined: [{ epoch: 2, location: 'memory:quarantine/share-2#1' }], current: 1 });
  assert.deepEqual(vault.quarantined.map((q) => q.share), [e2.share], 'the pending share is kept aside, intact');
  const ks = await m.currentKeyAndShare();
  assert.equal(ks!.key.epoch, 1);
  assert.equal(ks!.share!.epoch, 1);
  assert.deepEqual(await vault.list(), [1]);
  m.store.db.close();
});

test('restart after the commit but before the old share was destroyed: new key, old share deleted', async () => {
  const path = join(dir, 'b.db');
  const vault = new CrashingVault();
  let m = new EpochManager(openDb(path, epochMigrations), vault, SELF, { policy });
  await m.adopt({ ...material(1, 'keygen', 'aa'.repeat(32), V1), signatures, retire: [] });
  vault.crashOnDestroy = true;
  await assert.rejects(m.adopt({ ...material(2, 'keygen', 'aa'.repeat(32), V1), signatures, retire: [1] }), /simulated crash/);
  vault.crashOnDestroy = false;
  m.store.db.close();

  m = new EpochManager(openDb(path, epochMigrations), vault, SELF, { policy });
  assert.deepEqual(await m.reconcile(), { destroyed: [1], quarantined: [], current: 2 });
  const ks = await m.currentKeyAndShare();
  assert.equal(ks!.key.epoch, 2);
  assert.equal(ks!.share!.epoch, 2, 'key and share from the same epoch');
  assert.equal(m.store.get(1)!.status, 'retired');
  m.store.db.close();
});

test('current share missing is a share inconsistency, not a guess', async () => {
  const vault = new InMemoryShareVault();
  const m = new EpochManager(openDb(':memory:', epochMigrations), vault, SELF, { policy });
  await m.adopt({ ...material(1, 'keygen', 'aa'.repeat(32), V1), signatures, retire: [] });
  await vault.destroy(1);
  await assert.rejects(m.reconcile(), (e) => isMetanodeError(e, 'SHARE_INCONSISTENCY'));
});

test('keygen epochs: sweep sources, retirement by balance, lock-in kept by regroup', async () => {
  const vault = new InMemoryShareVault();
  const m = new EpochManager(openDb(':memory:', epochMigrations), vault, SELF, { policy });
  await m.adopt({ ...material(1, 'keygen', 'aa'.repeat(32), V1), signatures, retire: [] });
  await m.adopt({ ...material(2, 'keygen', 'bb'.repeat(32), V2), signatures, retire: [] });
  assert.deepEqual(m.sweepSources().map((s) => [s.epoch, s.vaultAddress]), [[1, V1]]);
  assert.deepEqual(m.retirableEpochs(new Map([[1, 1n]])), []);
  assert.deepEqual(m.retirableEpochs(new Map([[1, 0n]])), [1]);
  await m.retire([1]);
  assert.deepEqual(m.sweepSources(), []);
  assert.deepEqual(await vault.list(), [2]);
  await assert.rejects(m.retire([2]), (e) => isMetanodeError(e, 'INVALID_INPUT'));
  assert.equal(m.lockIn(), true);
  assert.equal(m.isLocked(), true);
  await m.adopt({ ...material(3, 'keygen', 'bb'.repeat(32), V2), signatures, retire: [2], locked: true });
  assert.equal(m.current()!.status, 'locked');
  assert.deepEqual(m.signedRecords().map((r) => [r.record.epoch, r.status]), [[1, 'retired'], [2, 'retired'], [3, 'locked']]);
  await assert.rejects(m.adopt({ ...material(3, 'regroup', 'bb'.repeat(32), V2), signatures, retire: [] }), (e) => isMetanodeError(e, 'SHARE_INCONSISTENCY'));
});
