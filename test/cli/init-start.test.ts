// `init` (data directory, config skeleton, encrypted keystore; passphrase from a file, the
// environment, a systemd credential or a prompt) and `start`'s refusals: a key file readable by
// others and a wrong passphrase, each named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { main, type CliIo } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { configSkeleton } from '../../src/config/skeleton.js';
import { NETWORKS } from '../../src/config/schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-init-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PASS = 'a long enough passphrase';
const FAST = { METANODE_KEYSTORE_SCRYPT_N: '1024' };

async function run(args: string[], env: Record<string, string> = {}, prompt?: (q: string) => Promise<string>) {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: { ...FAST, ...env }, cwd: tmp, ...(prompt ? { prompt } : {}) };
  const code = await main(args, io);
  return { code, out, err };
}
const mode = (p: string) => statSync(p).mode & 0o777;

test('init creates the data directory (0700), a valid config skeleton and the identity key (0600); again it changes nothing', async () => {
  const dir = join(tmp, 'n1');
  const r = await run(['init', '--data-dir', dir, '--json'], { METANODE_PASSPHRASE: PASS });
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.match(j.peerId, /^12D3KooW/);
  assert.equal(j.created, true);
  assert.equal(j.configCreated, true);
  assert.equal(j.configFile, join(dir, 'metanode.yaml'));
  assert.equal(j.passphraseSource, 'the environment variable METANODE_PASSPHRASE');
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'keys')), 0o700);
  assert.equal(mode(join(dir, 'keys', 'identity.key')), 0o600);
  assert.equal(mode(j.configFile), 0o600);
  // The keystore file format: versioned, scrypt, authenticated encryption; no secret in clear.
  const sealed = JSON.parse(readFileSync(join(dir, 'keys', 'identity.key'), 'utf8'));
  assert.equal(sealed.format, 'metanode-keystore');
  assert.equal(sealed.version, 1);
  assert.equal(sealed.kdf.name, 'scrypt');
  assert.equal(sealed.cipher.name, 'aes-256-gcm');
  assert.equal(sealed.meta.peerId, j.peerId);
  const yaml = parseYaml(readFileSync(j.configFile, 'utf8'));
  assert.equal(yaml.network, 'regtest');
  assert.equal(yaml.dataDir, dir);
  // Again: nothing changes, the config is kept.
  writeFileSync(j.configFile, readFileSync(j.configFile, 'utf8') + '# operator edit\n');
  const again = await run(['init', '--data-dir', dir], { METANODE_PASSPHRASE: PASS });
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, new RegExp(`^identity already exists: ${j.peerId} \\(unchanged\\)$`, 'm'));
  assert.match(readFileSync(j.configFile, 'utf8'), /# operator edit\n$/);
});

test('init --network mainnet writes a Bitcoin Core config; every network skeleton validates', async () => {
  const dir = join(tmp, 'main');
  const cfg = join(tmp, 'etc', 'metanode.yaml');
  // Mainnet refuses a cheap scrypt cost, so no FAST here.
  let out = '';
  let err = '';
  const code = await main(['--config', cfg, 'init', '--data-dir', dir, '--network', 'mainnet'], {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: { METANODE_PASSPHRASE: PASS },
    cwd: tmp,
  });
  assert.equal(code, 0, err);
  assert.match(out, /^config:\s+.*etc\/metanode\.yaml \(written; review it\)$/m);
  const y = parseYaml(readFileSync(cfg, 'utf8'));
  assert.equal(y.network, 'mainnet');
  assert.equal(y.chain.source, 'bitcoind');
  assert.equal(y.chain.bitcoind.url, 'http://127.0.0.1:8332');
  for (const network of NETWORKS) {
    const c = parseConfig(parseYaml(configSkeleton({ network, dataDir: '/var/lib/metanode' })), {}, { cwd: '/' });
    assert.equal(c.network, network);
    assert.equal(c.http.host, '127.0.0.1');
  }
  assert.equal((await run(['init', '--network', 'moon'])).code, 2);
});

test('the passphrase comes from a file (--passphrase-file), a systemd credential, the environment, or a prompt', async () => {
  // File: must be 0600; the flag also lands in the written config.
  const passFile = join(tmp, 'pass');
  writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
  const f = await run(['init', '--data-dir', join(tmp, 'pf'), '--passphrase-file', passFile, '--json']);
  assert.equal(f.code, 0, f.err);
  assert.equal(JSON.parse(f.out).passphraseSource, `the passphrase file ${passFile}`);
  assert.equal(parseYaml(readFileSync(join(tmp, 'pf', 'metanode.yaml'), 'utf8')).keystore.passphraseFile, passFile);

  // systemd LoadCredential=passphrase:... puts the file in $CREDENTIALS_DIRECTORY; it wins over the variable.
  const creds = join(tmp, 'creds');
  mkdirSync(creds, { mode: 0o700 });
  writeFileSync(join(creds, 'passphrase'), PASS, { mode: 0o400 });
  const c = await run(['init', '--data-dir', join(tmp, 'cred'), '--json'], { CREDENTIALS_DIRECTORY: creds, METANODE_PASSPHRASE: 'another passphrase' });
  assert.equal(c.code, 0, c.err);
  assert.equal(JSON.parse(c.out).passphraseSource, `the systemd credential ${join(creds, 'passphrase')}`);
  // The identity opens with the credential's passphrase, not the variable's.
  const wrong = await run(['init', '--data-dir', join(tmp, 'cred')], { METANODE_PASSPHRASE: 'another passphrase' });
  assert.equal(wrong.code, 78);
  assert.match(wrong.err, /cannot decrypt .*identity\.key with the passphrase from the environment variable METANODE_PASSPHRASE: wrong passphrase/);

  // Prompt: asked twice for a new keystore; a mismatch is refused.
  const asked: string[] = [];
  const p = await run(['init', '--data-dir', join(tmp, 'pr'), '--json'], {}, async (q) => (asked.push(q), PASS));
  assert.equal(p.code, 0, p.err);
  assert.deepEqual(asked, ['New keystore passphrase: ', 'Repeat the passphrase: ']);
  assert.equal(JSON.parse(p.out).passphraseSource, 'the prompt');
  let n = 0;
  const mismatch = await run(['init', '--data-dir', join(tmp, 'pr2')], {}, async () => (n++ === 0 ? PASS : PASS + 'x'));
  assert.equal(mismatch.code, 78);
  assert.equal(mismatch.err, 'error: KEYSTORE: the two passphrases differ\n');

  // Nothing anywhere and no terminal: one line naming every source.
  const none = await run(['init', '--data-dir', join(tmp, 'none')]);
  assert.equal(none.code, 78);
  assert.equal(
    none.err,
    'error: KEYSTORE: no keystore passphrase: set the environment variable METANODE_PASSPHRASE, keystore.passphraseFile in the config (or --passphrase-file), or a systemd credential named passphrase\n',
  );
});

test('start refuses a key file readable by others and a wrong passphrase, naming which', async () => {
  const dir = join(tmp, 's1');
  assert.equal((await run(['init', '--data-dir', dir], { METANODE_PASSPHRASE: PASS })).code, 0);
  const key = join(dir, 'keys', 'identity.key');

  chmodSync(key, 0o644);
  const open = await run(['--data-dir', dir, 'start'], { METANODE_PASSPHRASE: PASS });
  assert.equal(open.code, 78);
  assert.equal(open.err, `error: KEYSTORE: ${key} is readable by group/others (mode 0644); run: chmod 600 ${key}\n`);
  chmodSync(key, 0o600);

  chmodSync(join(dir, 'keys'), 0o755);
  const dirOpen = await run(['--data-dir', dir, 'start'], { METANODE_PASSPHRASE: PASS });
  assert.equal(dirOpen.code, 78);
  assert.match(dirOpen.err, /keystore directory .*keys is accessible by group\/others \(mode 0755\); run: chmod 700/);
  chmodSync(join(dir, 'keys'), 0o700);

  const wrong = await run(['--data-dir', dir, 'start'], { METANODE_PASSPHRASE: 'not the passphrase' });
  assert.equal(wrong.code, 78);
  assert.equal(wrong.err, `error: KEYSTORE: cannot decrypt ${key} with the passphrase from the environment variable METANODE_PASSPHRASE: wrong passphrase, or the file was modified\n`);

  const passFile = join(tmp, 'loose-pass');
  writeFileSync(passFile, PASS, { mode: 0o644 });
  chmodSync(passFile, 0o644);
  const loose = await run(['--data-dir', dir, '--passphrase-file', passFile, 'start']);
  assert.equal(loose.code, 78);
  assert.equal(loose.err, `error: KEYSTORE: ${passFile} is readable by group/others (mode 0644); run: chmod 600 ${passFile}\n`);

  // A data directory that was never initialised: no config there, and the defaults lack a chain.
  const uninit = await run(['--data-dir', join(tmp, 'never'), 'start'], { METANODE_PASSPHRASE: PASS });
  assert.equal(uninit.code, 78);
  assert.equal(uninit.err, 'config error: chain.esploraUrl: required when chain.source is "esplora"\n');
  const noKeys = await run(['--data-dir', join(tmp, 'never'), 'start'], { METANODE_PASSPHRASE: PASS, METANODE_CHAIN_ESPLORA_URL: 'http://127.0.0.1:1' });
  assert.equal(noKeys.code, 78);
  assert.match(noKeys.err, /^error: KEYSTORE: keystore directory .*never\/keys does not exist; run `metanode init` first\n$/);
});

test('every command has help with examples; errors are one line with a non-zero exit', async () => {
  const names = ['init', 'start', 'status', 'peers', 'rounds', 'round', 'deposits', 'transfers', 'request', 'stake', 'keys', 'verify-epoch', 'devnet', 'devchain'];
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const n of names) assert.match(top.out, new RegExp(`^  ${n}\\b`, 'm'), n);
  assert.match(top.out, /--data-dir <path>/);
  assert.match(top.out, /--json/);
  assert.match(top.out, /Examples:\n {2}\$ metanode init/);
  for (const n of names) {
    const h = await run([n, '--help']);
    assert.equal(h.code, 0, n);
    assert.match(h.out, new RegExp(`^Usage: metanode ${n}`), n);
    assert.match(h.out, /\nExamples:\n {2}\$ .*metanode /, `${n} has examples`);
  }
  for (const args of [['nope'], ['rounds', '--limit', 'x'], ['round'], ['--api', 'localhost:1', 'status']]) {
    const r = await run(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.err.split('\n').filter(Boolean).length, 1, `one line for ${args.join(' ')}: ${r.err}`);
  }
});
