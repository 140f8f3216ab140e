// Operator commands around a node's life: peers unblock (stopped node, or running through its API), config check and
// show (secrets redacted), the answering node's identity checked by read commands, exit codes
// that answer the question (status of a stopped node, stake --check of an invalid stake), and
// errors as JSON under --json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner } from '../support/cli.js';
import { createApiServer } from '../../src/api/server.js';
import { lockDataDir } from '../../src/node/lock.js';
import { openDataDir } from '../../src/node/datadir.js';
import { loadConfig } from '../../src/config/load.js';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { EXIT_CONFIG, EXIT_DATADIR_LOCKED, EXIT_USAGE } from '../../src/cli/exit-codes.js';
import { fakeNode, PEER_A, PEER_C } from '../api/fake-node.js';
import { writeNodeData } from '../node/datadir-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-lifecycle-'));
const dir = join(tmp, 'node1');
const ENV = { METANODE_PASSPHRASE: 'a long enough passphrase', METANODE_KEYSTORE_SCRYPT_N: '1024' };
let peerId: string;
let devchain: RunningDevchain;

const run = cliRunner(tmp, ENV);

before(async () => {
  const init = await run(['init', '--data-dir', dir, '--json']);
  assert.equal(init.code, 0, init.err);
  peerId = JSON.parse(init.out).peerId;
  await writeNodeData(dir);
  devchain = await startDevchain({ network: 'regtest' });
});
after(async () => {
  await devchain?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('peers unblock: removes the entry of a stopped node; asks a running node through its API; refused, naming the PID, when that API is down', async () => {
  const listed = async () => JSON.parse((await run(['--data-dir', dir, '--offline', 'peers', '--json'])).out) as Array<{ peerId: string; state: string }>;
  assert.equal((await listed()).find((p) => p.peerId === PEER_C)?.state, 'blocked');

  const lock = lockDataDir(dir, 31337);
  try {
    // A node holds the directory but its API does not answer: refused, naming the PID and the API.
    const refused = await run(['--data-dir', dir, 'peers', 'unblock', PEER_C], { ...ENV, METANODE_HTTP_PORT: '1' });
    assert.equal(refused.code, EXIT_DATADIR_LOCKED);
    assert.match(refused.err, /in use by another metanode \(PID 31337\), and its API at http:\/\/127\.0\.0\.1:1 does not answer/);
    // The running node's API answers: the CLI asks it, with the data directory's token.
    const token = readFileSync(join(dir, 'api.token'), 'utf8').trim();
    const node = fakeNode();
    const api = createApiServer({ api: node, port: 0, auth: { token } });
    const { port } = await api.listen();
    try {
      const viaApi = await run(['--data-dir', dir, 'peers', 'unblock', PEER_C, '--json'], { ...ENV, METANODE_HTTP_PORT: String(port) });
      assert.equal(viaApi.code, 0, viaApi.err);
      assert.equal(JSON.parse(viaApi.out).removed.reason, 'invalid-ping');
      assert.deepEqual(node.calls.filter((c) => c.method === 'unblockPeer'), [{ method: 'unblockPeer', arg: PEER_C }]);
    } finally {
      await api.close();
    }
  } finally {
    lock.release();
  }
  assert.equal((await listed()).find((p) => p.peerId === PEER_C)?.state, 'blocked');

  const done = await run(['--data-dir', dir, 'peers', 'unblock', PEER_C, '--json']);
  assert.equal(done.code, 0, done.err);
  const r = JSON.parse(done.out);
  assert.equal(r.peerId, PEER_C);
  assert.equal(r.removed.reason, 'invalid-ping');
  assert.notEqual((await listed()).find((p) => p.peerId === PEER_C)?.state, 'blocked');
  // Again: nothing to remove, said so.
  assert.match((await run(['--data-dir', dir, 'peers', 'unblock', PEER_C])).out, /was not blocked; nothing changed/);
  const bad = await run(['--data-dir', dir, 'peers', 'unblock', 'not-a-peer']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /not a peer id: "not-a-peer"/);
});

test('config show prints the effective config with secrets redacted; config check reports what start needs', async () => {
  const cfg = join(tmp, 'with-secret.yaml');
  writeFileSync(
    cfg,
    [`dataDir: ${dir}`, `keystore: { dir: ${join(dir, 'keys')} }`, 'chain: { source: bitcoind, bitcoind: { url: "http://rpc:urlsecret@127.0.0.1:8332", user: rpc, password: s3cret-rpc } }', 'custody: { rewardSats: 1000 }', ''].join('\n'),
  );
  const show = await run(['--config', cfg, 'config', 'show', '--json'], { ...ENV, METANODE_HTTP_PORT: '9555' });
  assert.equal(show.code, 0, show.err);
  const c = JSON.parse(show.out);
  assert.equal(c.chain.bitcoind.password, '[redacted]');
  assert.equal(c.chain.bitcoind.url, 'http://rpc:[redacted]@127.0.0.1:8332');
  assert.ok(!show.out.includes('s3cret-rpc') && !show.out.includes('urlsecret'));
  assert.equal(c.http.port, 9555, 'environment overrides are part of the effective config');
  assert.equal(c.p2p.doppelgangerIntervals, 3, 'defaults filled in');
  assert.equal(c.stake.minSats, '1000000');

  const check = await run(['--config', cfg, 'config', 'check', '--json']);
  assert.equal(check.code, 0, check.err);
  const r = JSON.parse(check.out);
  assert.equal(r.ok, true);
  assert.equal(r.peerId, peerId);
  assert.ok(r.warnings.some((w: string) => w.startsWith('no stake configured')));
  assert.ok(r.warnings.some((w: string) => w.startsWith('chain.bitcoind.password is in the config file')));
  assert.ok(r.warnings.some((w: string) => w.startsWith('custody.rewardSats is deprecated and ignored')), 'an old config file still loads, with a warning');

  const noKeys = join(tmp, 'no-keys.yaml');
  writeFileSync(noKeys, `dataDir: ${join(tmp, 'empty')}\nkeystore: { dir: ${join(tmp, 'empty', 'keys')} }\nchain: { esploraUrl: "http://127.0.0.1:3002" }\n`);
  const unusable = await run(['--config', noKeys, 'config', 'check']);
  assert.equal(unusable.code, EXIT_CONFIG);
  assert.match(unusable.out, /result:\s+NOT USABLE/);

  const invalid = join(tmp, 'invalid.yaml');
  writeFileSync(invalid, 'p2p: { pingIntervalMs: 5 }\n');
  const refused = await run(['--config', invalid, 'config', 'check', '--json']);
  assert.equal(refused.code, EXIT_CONFIG);
  assert.equal(JSON.parse(refused.out).error.code, 'INVALID_CONFIG');
});

test('another node answering on the configured port is not read as ours: the data directory is, with a note', async () => {
  const other = createApiServer({ api: fakeNode(), port: 0 });
  const { port } = await other.listen();
  try {
    const env = { ...ENV, METANODE_HTTP_PORT: String(port) };
    const r = await run(['--data-dir', dir, 'status', '--json'], env);
    const s = JSON.parse(r.out);
    assert.equal(s.peerId, peerId);
    assert.notEqual(s.peerId, PEER_A);
    assert.equal(s.state, 'stopped');
    assert.match(r.err, new RegExp(`note: the node answering at http://127\\.0\\.0\\.1:${port} is ${PEER_A}, not this data directory's node ${peerId}; reading the data directory`));
    assert.equal(r.code, 1, 'the data directory\'s node is not running');
  } finally {
    await other.close();
  }
  // Its own node answering: read through the API (same peer id), no note.
  const reader = openDataDir(loadConfig(join(dir, 'metanode.yaml'), ENV));
  const own = createApiServer({ api: { ...reader, status: () => ({ ...reader.status(), running: true, state: 'idle' }), health: () => ({ chain: { reachable: true }, clock: { skewMs: 0 }, peers: { connectedStaked: 0, federationSize: 1 } }), submitRequest: () => Promise.reject(new Error('read-only')), unblockPeer: () => Promise.reject(new Error('read-only')), rewards: () => Promise.reject(new Error('not in a data directory')) }, port: 0 });
  const { port: ownPort } = await own.listen();
  try {
    const r = await run(['--data-dir', dir, 'status', '--json'], { ...ENV, METANODE_HTTP_PORT: String(ownPort) });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(JSON.parse(r.out).state, 'idle');
  } finally {
    await own.close();
    reader.close();
  }
});

test('stake --check exits 1 on an invalid stake (not on the chain)', async () => {
  const cfg = join(tmp, 'stake.yaml');
  writeFileSync(cfg, [`dataDir: ${dir}`, `keystore: { dir: ${join(dir, 'keys')} }`, `chain: { source: esplora, esploraUrl: "${devchain.url}" }`, `stake: { txid: "${'ab'.repeat(32)}", vout: 0 }`, ''].join('\n'));
  const r = await run(['--config', cfg, 'stake', '--check', '--json']);
  assert.equal(r.code, 1, r.err);
  const s = JSON.parse(r.out);
  assert.equal(s.status.valid, false);
  assert.equal(s.status.source, 'chain');
});

test('errors are JSON on stdout under --json: code, message, exit code', async () => {
  const missing = await run(['--data-dir', join(tmp, 'nothing'), '--offline', 'rounds', '--json']);
  assert.equal(missing.code, 1);
  const e = JSON.parse(missing.out).error;
  assert.equal(e.code, 'NODE_ERROR');
  assert.match(e.message, /^no node database at /);
  assert.equal(e.exitCode, 1);
  const usage = await run(['rounds', '--limit', 'zero', '--json']);
  assert.equal(usage.code, EXIT_USAGE);
  assert.equal(JSON.parse(usage.out).error.code, 'USAGE');
  // Without --json: one plain line on stderr, nothing on stdout.
  const plain = await run(['--data-dir', join(tmp, 'nothing'), '--offline', 'rounds']);
  assert.equal(plain.out, '');
  assert.match(plain.err, /^error: NODE_ERROR: /);
});
