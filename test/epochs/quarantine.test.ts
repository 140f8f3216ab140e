// Share files are never destroyed by surprise: restoring keys/ without the database that adopted
// them, or an interrupted ceremony, leaves shares the database does not know. They are moved to
// keys/quarantine/ (still sealed, still 0600), logged, and named if the node then cannot start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keystore, shareFileName } from '../../src/keystore/index.js';
import { SCRYPT_N_MIN } from '../../src/config/schema.js';
import { keystoreShareVault } from '../../src/node/share-vault.js';
import { EpochManager, type ShareEvent } from '../../src/epochs/manager.js';
import { epochMigrations } from '../../src/epochs/store.js';
import { openDb } from '../../src/store/db.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import type { EpochKey, KeyShare } from '../../src/crypto/types.js';
import type { EpochRecord } from '../../src/epochs/record.js';
import { exitCodeFor, EXIT_SHARE_INCONSISTENCY } from '../../src/cli/exit-codes.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { stakedInOrder, testPolicy, TEST_ATTEMPT } from '../support/epoch-policy.js';

const root = mkdtempSync(join(tmpdir(), 'metanode-quarantine-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SELF = 'selfPeer';
const committee = membersInOrder([SELF, 'p2', 'p3']);
const share = (epoch: number): KeyShare => ({ epoch, identifier: committee[0].identifier, signingShare: (0x1000 + epoch).toString(16).padStart(64, '0') });
const policy = testPolicy(() => stakedInOrder([SELF, 'p2', 'p3']));

function open(name: string): { ks: Keystore; manager: EpochManager; events: ShareEvent[] } {
  const ks = Keystore.open({ dir: join(root, name, 'keys'), passphrase: 'pw', scryptN: SCRYPT_N_MIN });
  const events: ShareEvent[] = [];
  const manager = new EpochManager(openDb(':memory:', epochMigrations), keystoreShareVault(ks), SELF, { policy, onShare: (e) => events.push(e) });
  return { ks, manager, events };
}

test('restored keys/ without database: shares quarantined, not deleted, each logged with its epoch', async () => {
  const { ks, manager, events } = open('restored');
  await ks.saveShare(1, share(1));
  await ks.saveShare(2, share(2));
  const sealed = [1, 2].map((e) => readFileSync(join(ks.dir, shareFileName(e)), 'utf8'));
  // The database is new (restored keys/ only): it has no adopted record for either epoch.
  const rec = await manager.reconcile();
  assert.deepEqual(rec.destroyed, []);
  assert.deepEqual(rec.quarantined.map((q) => q.epoch), [1, 2]);
  assert.deepEqual(ks.listShares(), [], 'nothing left in use');
  for (const [i, q] of rec.quarantined.entries()) {
    assert.ok(q.location.startsWith(join(ks.dir, 'quarantine', `share-${i + 1}.`)));
    assert.equal(readFileSync(q.location, 'utf8'), sealed[i], 'the sealed file is kept byte for byte');
    assert.equal(statSync(q.location).mode & 0o777, 0o600);
  }
  assert.equal(statSync(join(ks.dir, 'quarantine')).mode & 0o777, 0o700);
  assert.deepEqual(events.map((e) => [e.action, e.epoch]), [['quarantined', 1], ['quarantined', 2]]);
  assert.match(events[0].reason, /keys\/ restored without its database/);
  assert.deepEqual(ks.listQuarantinedShares(), rec.quarantined.map((q) => q.location));
  // A second quarantine of the same epoch never overwrites the first.
  await ks.saveShare(1, share(1));
  const again = await manager.reconcile();
  assert.equal(again.quarantined.length, 1);
  assert.notEqual(again.quarantined[0].location, rec.quarantined[0].location);
  assert.ok(existsSync(rec.quarantined[0].location));
});

test('current epoch names this node but its share is missing: exit 65, naming the quarantined files that may hold it', async () => {
  const { ks, manager } = open('missing');
  await ks.saveShare(1, share(1));
  const q = ks.quarantineShare(1);
  const key: EpochKey = { epoch: 1, network: 'regtest', outputKey: 'aa'.repeat(32), internalKey: 'ee'.repeat(32), threshold: 3, committee, verifyingShares: {}, commitments: [] };
  const record: EpochRecord = {
    version: 1, kind: 'keygen', network: 'regtest', epoch: 1, attempt: TEST_ATTEMPT, previousEpoch: null, outputKey: key.outputKey, internalKey: key.internalKey,
    vaultAddress: 'bcrt1p' + 'a'.repeat(58), committee, threshold: 3, transcriptHash: '01'.repeat(32), keyHash: '02'.repeat(32), testSignature: null,
  };
  manager.store.adopt({ record, signatures: [], key, status: 'adopted', hasShare: true, retire: [], at: 0 });
  await assert.rejects(manager.reconcile(), (e) => {
    assert.ok(isMetanodeError(e, 'SHARE_INCONSISTENCY'));
    assert.equal(exitCodeFor(e), EXIT_SHARE_INCONSISTENCY);
    assert.match(e.message, /epoch 1 is adopted with a share for this node, but the share is missing; quarantined share files that may hold it: /);
    assert.ok(e.message.includes(q), 'names the quarantined file');
    return true;
  });
  assert.ok(existsSync(q), 'still there');
});
