// backup → restore into a fresh data directory gives the same node (identity, share, database);
// keys change-passphrase keeps the keys and refuses a wrong current passphrase.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keystore } from '../../src/keystore/index.js';
import { lockDataDir } from '../../src/node/lock.js';
import { EXIT_DATADIR_LOCKED } from '../../src/cli/exit-codes.js';
import { writeNodeData } from '../node/datadir-fixture.js';
import { cliRunner } from '../support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-backup-'));
const dir = join(tmp, 'node1');
const PASS = 'a long enough passphrase';
const ENV = { METANODE_PASSPHRASE: PASS, METANODE_KEYSTORE_SCRYPT_N: '1024' };
const run = cliRunner(tmp, ENV);
const SHARE = { epoch: 2, identifier: '0a'.repeat(32), signingShare: '1b'.repeat(32) };
let peerId: string;

before(async () => {
  const init = await run(['init', '--data-dir', dir, '--json']);
  assert.equal(init.code, 0, init.err);
  peerId = JSON.parse(init.out).peerId;
  await writeNodeData(dir);
  await Keystore.open({ dir: join(dir, 'keys'), passphrase: PASS, scryptN: 1024 }).saveShare(2, SHARE);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('backup then restore into a fresh data dir: same peer id, same share, same rounds and epochs', async () => {
  const archive = join(tmp, 'node1.backup');
  // Online: the running node holds the data-dir lock; the backup still works.
  const lock = lockDataDir(dir, 4711);
  try {
    const b = await run(['--data-dir', dir, 'backup', archive, '--json']);
    assert.equal(b.code, 0, b.err);
    assert.deepEqual(JSON.parse(b.out).keyFiles, ['identity.key', 'share-2.key']);
  } finally {
    lock.release();
  }
  assert.equal(statSync(archive).mode & 0o777, 0o600);
  assert.ok(!readFileSync(archive, 'utf8').includes(SHARE.signingShare), 'the share stays sealed in the archive');
  assert.equal((await run(['--data-dir', dir, 'backup', archive])).code, 1, 'never overwrites');

  const fresh = join(tmp, 'restored');
  const r = await run(['--data-dir', fresh, 'restore', archive, '--json']);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).peerId, peerId);
  assert.equal(statSync(join(fresh, 'node.sqlite')).mode & 0o777, 0o600);
  const ks = Keystore.open({ dir: join(fresh, 'keys'), passphrase: PASS, scryptN: 1024, create: false });
  assert.deepEqual(await ks.loadShare(2), SHARE);
  assert.equal((await import('@libp2p/peer-id')).peerIdFromPrivateKey((await ks.loadIdentity()) as never).toString(), peerId);
  for (const cmd of ['rounds', 'epochs', 'transfers', 'peers']) {
    const a = await run(['--data-dir', dir, '--offline', cmd, '--json']);
    const b = await run(['--data-dir', fresh, '--offline', cmd, '--json']);
    assert.equal(b.out, a.out, cmd);
  }
  // Restoring over a node is refused.
  const again = await run(['--data-dir', fresh, 'restore', archive]);
  assert.equal(again.code, 1);
  assert.match(again.err, /node\.sqlite exists: restore only into a data directory without a node/);
  writeFileSync(join(tmp, 'junk.backup'), '{"format":"zip"}');
  assert.match((await run(['--data-dir', join(tmp, 'other'), 'restore', join(tmp, 'junk.backup')])).err, /is not a metanode backup/);
});

test('keys change-passphrase keeps the keys; the old passphrase no longer opens them; refused while the node runs', async () => {
  const newFile = join(tmp, 'new-pass');
  writeFileSync(newFile, 'an entirely new passphrase\n', { mode: 0o600 });
  const lock = lockDataDir(dir, 4712);
  try {
    assert.equal((await run(['--data-dir', dir, 'keys', 'change-passphrase', '--new-passphrase-file', newFile])).code, EXIT_DATADIR_LOCKED);
  } finally {
    lock.release();
  }
  const wrong = await run(['--data-dir', dir, 'keys', 'change-passphrase', '--new-passphrase-file', newFile], { ...ENV, METANODE_PASSPHRASE: 'not the passphrase at all' });
  assert.notEqual(wrong.code, 0);
  const c = await run(['--data-dir', dir, 'keys', 'change-passphrase', '--new-passphrase-file', newFile, '--json']);
  assert.equal(c.code, 0, c.err);
  assert.equal(JSON.parse(c.out).resealed.length, 2);
  const ks = Keystore.open({ dir: join(dir, 'keys'), passphrase: 'an entirely new passphrase', scryptN: 1024, create: false });
  assert.deepEqual(await ks.loadShare(2), SHARE);
  await ks.loadIdentity();
  await assert.rejects(Keystore.open({ dir: join(dir, 'keys'), passphrase: PASS, scryptN: 1024, create: false }).loadIdentity(), /passphrase/i);
  assert.ok(existsSync(join(dir, 'keys', 'share-2.key')));
});
