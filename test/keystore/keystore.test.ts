import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Keystore, inspectKeystore, resolvePassphrase, shareFileName, writeFileAtomic } from '../../src/keystore/index.js';
import { isMetanodeError } from '../../src/util/errors.js';
import type { KeyShare } from '../../src/crypto/types.js';

const root = mkdtempSync(join(tmpdir(), 'metanode-ks-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `ks${n++}`);
const PASS = 'correct horse battery staple';
const open = (dir: string, passphrase = PASS) => Keystore.open({ dir, passphrase, scryptN: 1024 });
const share = (epoch: number, fill = 'a'): KeyShare => ({ epoch, identifier: '0'.repeat(63) + '1', signingShare: fill.repeat(64) });

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, re: RegExp) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(isMetanodeError(e), `not a MetanodeError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return;
  }
  assert.fail('expected an error');
}

test('init creates an encrypted Ed25519 identity, 0600 in a 0700 dir; re-init keeps it', async () => {
  const dir = freshDir();
  const ks = open(dir);
  const r = await ks.init();
  assert.equal(r.created, true);
  assert.match(r.peerId, /^12D3KooW/);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(r.file).mode & 0o777, 0o600);
  const text = readFileSync(r.file, 'utf8');
  const f = JSON.parse(text);
  assert.equal(f.format, 'metanode-keystore');
  assert.equal(f.version, 1);
  assert.equal(f.kind, 'identity');
  assert.equal(f.kdf.name, 'scrypt');
  assert.equal(f.kdf.N, 1024);
  assert.match(f.kdf.salt, /^[0-9a-f]{32}$/);
  assert.match(f.cipher.iv, /^[0-9a-f]{24}$/);
  assert.match(f.cipher.tag, /^[0-9a-f]{32}$/);
  assert.equal(f.meta.peerId, r.peerId);

  const key = await ks.loadIdentity();
  assert.equal(key.type, 'Ed25519');
  assert.equal(peerIdFromPrivateKey(key).toString(), r.peerId);
  assert.ok(!text.includes(Buffer.from(key.raw).toString('hex').slice(0, 32)), 'raw key bytes must not appear in the file');

  const again = await open(dir).init();
  assert.deepEqual(again, { ...r, created: false });
  assert.equal(readFileSync(r.file, 'utf8'), text);
  assert.deepEqual(inspectKeystore(dir), { dir, peerId: r.peerId, shareEpochs: [] });
});

test('share round trip, list, idempotent save, refusal to replace, destroy', async () => {
  const dir = freshDir();
  const ks = open(dir);
  await ks.saveShare(3, share(3));
  await ks.saveShare(12, share(12, 'b'));
  assert.deepEqual(ks.listShares(), [3, 12]);
  assert.deepEqual(await ks.loadShare(3), share(3));
  assert.deepEqual(await open(dir).loadShare(12), share(12, 'b'));
  assert.equal(await ks.loadShare(4), null);
  assert.equal(statSync(join(dir, shareFileName(3))).mode & 0o777, 0o600);

  await ks.saveShare(3, share(3));
  await rejectsWith(ks.saveShare(3, share(3, 'c')), 'SHARE_INCONSISTENCY', /different share for epoch 3/);
  await rejectsWith(ks.saveShare(5, share(6)), 'INVALID_INPUT', /epoch 6, not 5/);
  await rejectsWith(ks.saveShare(5, { ...share(5), signingShare: 'xyz' }), 'INVALID_INPUT', /signingShare/);

  assert.equal(ks.destroyShare(3), true);
  assert.equal(ks.destroyShare(3), false);
  assert.deepEqual(ks.listShares(), [12]);
  assert.equal(await ks.loadShare(3), null);
  assert.deepEqual(readdirSync(dir).sort(), [shareFileName(12)]);
});

test('wrong passphrase: clear KEYSTORE error, file untouched', async () => {
  const dir = freshDir();
  const r = await open(dir).init();
  await open(dir).saveShare(1, share(1));
  const before = readFileSync(r.file);
  const mtime = statSync(r.file).mtimeMs;
  const shareBefore = readFileSync(join(dir, shareFileName(1)));
  const wrong = open(dir, 'not the passphrase');
  await rejectsWith(wrong.loadIdentity(), 'KEYSTORE', /cannot decrypt .*identity\.key: wrong passphrase/);
  await rejectsWith(wrong.init(), 'KEYSTORE', /wrong passphrase/);
  await rejectsWith(wrong.loadShare(1), 'KEYSTORE', /cannot decrypt .*share-1\.key/);
  await rejectsWith(wrong.saveShare(1, share(1)), 'KEYSTORE', /wrong passphrase/);
  assert.deepEqual(readFileSync(r.file), before);
  assert.equal(statSync(r.file).mtimeMs, mtime);
  assert.deepEqual(readFileSync(join(dir, shareFileName(1))), shareBefore);
});

test('tampering is detected: edited header, renamed share file, truncated file', async () => {
  const dir = freshDir();
  const ks = open(dir);
  await ks.saveShare(1, share(1));
  const f1 = join(dir, shareFileName(1));
  const sealed = JSON.parse(readFileSync(f1, 'utf8'));
  // Moving epoch 1's file to epoch 2 (header edited to match) must not yield a share for epoch 2.
  writeFileAtomic(join(dir, shareFileName(2)), JSON.stringify({ ...sealed, meta: { ...sealed.meta, epoch: 2 } }));
  await rejectsWith(ks.loadShare(2), 'KEYSTORE', /cannot decrypt/);
  writeFileAtomic(join(dir, shareFileName(3)), JSON.stringify(sealed));
  await rejectsWith(ks.loadShare(3), 'SHARE_INCONSISTENCY', /epoch 1, expected 3/);
  writeFileAtomic(join(dir, shareFileName(4)), readFileSync(f1, 'utf8').slice(0, 50));
  await rejectsWith(ks.loadShare(4), 'KEYSTORE', /not a keystore file/);
});

test('refuses group/other-readable key files and directories with the chmod to run', async () => {
  const dir = freshDir();
  const r = await open(dir).init();
  chmodSync(r.file, 0o640);
  await rejectsWith(() => open(dir), 'KEYSTORE', new RegExp(`${r.file} is readable by group/others \\(mode 0640\\); run: chmod 600 ${r.file}`));
  await rejectsWith(() => inspectKeystore(dir), 'KEYSTORE', /chmod 600/);
  chmodSync(r.file, 0o600);
  chmodSync(dir, 0o755);
  await rejectsWith(() => open(dir), 'KEYSTORE', new RegExp(`keystore directory ${dir} is accessible by group/others \\(mode 0755\\); run: chmod 700 ${dir}`));
  chmodSync(dir, 0o700);
  // A share made readable after open is still refused at load time.
  const ks = open(dir);
  await ks.saveShare(7, share(7));
  chmodSync(join(dir, shareFileName(7)), 0o604);
  await rejectsWith(ks.loadShare(7), 'KEYSTORE', /chmod 600/);
});

test('atomic writes leave no temp files; stale temps from a crash are removed on open', async () => {
  const dir = freshDir();
  const ks = open(dir);
  await ks.init();
  await ks.saveShare(1, share(1));
  assert.deepEqual(readdirSync(dir).sort(), ['identity.key', shareFileName(1)]);
  // Simulate kill -9 between creating the temp file and the rename.
  const stale = join(dir, `${shareFileName(2)}.tmp-999-deadbeef`);
  closeSync(openSync(stale, 'w', 0o600));
  writeFileSync(stale, '{"half":');
  open(dir);
  assert.deepEqual(readdirSync(dir).sort(), ['identity.key', shareFileName(1)]);
});

test('missing directory without create, and loadIdentity before init', async () => {
  const dir = freshDir();
  await rejectsWith(() => Keystore.open({ dir, passphrase: PASS, scryptN: 1024, create: false }), 'KEYSTORE', /does not exist; run `metanode init`/);
  await rejectsWith(open(dir).loadIdentity(), 'KEYSTORE', /no identity key .* run `metanode init` first/);
  await rejectsWith(() => Keystore.open({ dir, passphrase: PASS, scryptN: 1000 }), 'INVALID_INPUT', /power of two/);
});

test('passphrase from env or a private file', () => {
  assert.equal(resolvePassphrase({ passphraseEnv: 'MY_PASS' }, { MY_PASS: PASS }), PASS);
  assert.equal(resolvePassphrase({}, { METANODE_PASSPHRASE: PASS }), PASS);
  assert.throws(() => resolvePassphrase({ passphraseEnv: 'MY_PASS' }, {}), /KEYSTORE: no keystore passphrase: set the environment variable MY_PASS/);
  assert.throws(() => resolvePassphrase({}, { METANODE_PASSPHRASE: 'short' }), /shorter than 8/);
  const d = freshDir();
  mkdirSync(d, { mode: 0o700 });
  const f = join(d, 'pass');
  writeFileSync(f, PASS + '\n', { mode: 0o600 });
  assert.equal(resolvePassphrase({ passphraseFile: f }, {}), PASS);
  chmodSync(f, 0o644);
  assert.throws(() => resolvePassphrase({ passphraseFile: f }, {}), /readable by group\/others.*chmod 600/);
  assert.throws(() => resolvePassphrase({ passphraseFile: join(d, 'none') }, {}), /passphrase file .* does not exist/);
});

test('the keystore object does not expose the passphrase when printed', async () => {
  const ks = open(freshDir());
  const { inspect } = await import('node:util');
  assert.ok(!inspect(ks, { showHidden: true }).includes(PASS));
  assert.ok(!JSON.stringify(ks).includes(PASS));
});
