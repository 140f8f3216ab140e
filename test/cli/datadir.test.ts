// Every read command against a stopped node's data directory (SQLite read-only, no node
// running), as a table and as --json, then the same data served by the HTTP API: same JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner } from '../support/cli.js';
import { createApiServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config/load.js';
import { openDataDir } from '../../src/node/datadir.js';
import { MetanodeError } from '../../src/util/errors.js';
import { PEER_A, PEER_B, PEER_C } from '../api/fake-node.js';
import { writeNodeData, EPOCH, ROUND_OK, ROUND_ABORTED, DEPOSIT_TXID, CUSTODY_TXID, NOW, type Fixture } from '../node/datadir-fixture.js';
import { closedPort } from '../support/ports.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-datadir-'));
const dir = join(tmp, 'node1');
const ENV = { METANODE_PASSPHRASE: 'a long enough passphrase', METANODE_KEYSTORE_SCRYPT_N: '1024' };
let fx: Fixture;
let peerId: string;

const run = cliRunner(tmp, ENV);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

before(async () => {
  const init = await run(['init', '--data-dir', dir, '--json']);
  assert.equal(init.code, 0, init.err);
  peerId = JSON.parse(init.out).peerId;
  fx = await writeNodeData(dir);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `status` of a node that is not running exits 1 (after printing it); every other read exits 0. */
const exitOf = (cmd: string[]) => (cmd[0] === 'status' ? 1 : 0);

/** --offline and --json on the data directory; returns the parsed JSON. */
async function offline(cmd: string[]): Promise<any> {
  const r = await run(['--data-dir', dir, '--offline', ...cmd, '--json']);
  assert.equal(r.code, exitOf(cmd), `${cmd.join(' ')}: ${r.err}`);
  assert.equal(r.err, '');
  return JSON.parse(r.out);
}
async function table(cmd: string[]): Promise<string> {
  const r = await run(['--data-dir', dir, '--offline', ...cmd]);
  assert.equal(r.code, exitOf(cmd), `${cmd.join(' ')}: ${r.err}`);
  return r.out;
}

test('keys --json: { epoch, groupKey, internalKey, vaultAddress, threshold, committee } from the data directory', async () => {
  const k = await offline(['keys']);
  assert.deepEqual(k, {
    epoch: 2,
    groupKey: EPOCH.key.outputKey,
    internalKey: EPOCH.key.internalKey,
    vaultAddress: EPOCH.vaultAddress,
    threshold: 1,
    committee: [PEER_A],
  });
  const t = await table(['keys']);
  assert.match(t, new RegExp(`^vault address: ${EPOCH.vaultAddress}$`, 'm'));
  assert.match(t, /^threshold:\s+1 of 1$/m);
  assert.match(t, new RegExp(`^this node:\\s+${peerId} \\(not in the committee\\)$`, 'm'));
});

test('peers --json: [{ peerId, state, seniority, lastSeen, stake: { outpoint, sats, valid, reason } }]', async () => {
  const p = await offline(['peers']);
  assert.deepEqual(p, [
    { peerId: PEER_A, state: 'idle', seniority: 0, lastSeen: NOW - 100_000, stake: { outpoint: `${'cd'.repeat(32)}:100`, sats: '2000100', valid: true, reason: null } },
    { peerId: PEER_B, state: 'signing', seniority: 1, lastSeen: NOW - 101_000, stake: { outpoint: `${'cd'.repeat(32)}:101`, sats: '2000101', valid: true, reason: null } },
    { peerId: PEER_C, state: 'blocked', seniority: null, lastSeen: null, stake: { outpoint: null, sats: null, valid: false, reason: 'blocked: invalid-ping (bad signature)' } },
  ]);
  const t = (await table(['peers'])).split('\n');
  assert.match(t[0]!, /^PEER\s+STATE\s+SEN\s+LAST SEEN\s+STAKE\s+SATS\s+VALID\s+REASON$/);
  assert.match(t[4]!, new RegExp(`^${PEER_C}\\s+blocked\\s+-\\s+-\\s+-\\s+-\\s+no\\s+blocked: invalid-ping \\(bad signature\\)$`));
});

test('rounds --json: [{ id, startedAt, outcome, thresholdSet, txid, culprits }], newest first', async () => {
  assert.deepEqual(await offline(['rounds']), [
    { id: ROUND_OK, startedAt: NOW - 10_000, outcome: 'completed', thresholdSet: [PEER_A, PEER_B], txid: 'ef'.repeat(32), culprits: [] },
    { id: ROUND_ABORTED, startedAt: NOW - 60_000, outcome: 'aborted', thresholdSet: [], txid: null, culprits: [PEER_C] },
  ]);
  assert.deepEqual((await offline(['rounds', '-n', '1', '--before', String(ROUND_OK)])).map((r: { id: number }) => r.id), [ROUND_ABORTED]);
  const t = await table(['rounds']);
  assert.match(t, new RegExp(`^\\s*${ROUND_ABORTED}\\s+\\S+Z\\s+aborted\\s+-\\s+-\\s+12D3KooW…\\w{6}$`, 'm'));
});

test('round <id> --json: { id, outcome, events: [{ at, phase, peer, decision, reason }] } plus threshold set, txid, culprits', async () => {
  const r = await offline(['round', String(ROUND_ABORTED)]);
  assert.equal(r.id, ROUND_ABORTED);
  assert.equal(r.outcome, 'aborted');
  assert.deepEqual(r.events, [
    { at: NOW - 59_900, phase: 'proposal', peer: PEER_B, decision: 'accept', reason: null },
    { at: NOW - 59_000, phase: 'checksum', peer: PEER_C, decision: 'culprit', reason: 'checksum outlier' },
  ]);
  assert.deepEqual(r.culprits, [PEER_C]);
  assert.equal(r.reason, 'checksum mismatch');
  const ok = await offline(['round', String(ROUND_OK)]);
  assert.deepEqual(ok.thresholdSet, [PEER_A, PEER_B]);
  assert.equal(ok.txid, 'ef'.repeat(32));
  assert.deepEqual(ok.events.at(-1), { at: NOW - 8_000, phase: 'broadcast', peer: null, decision: 'complete', reason: null });
  const t = await table(['round', String(ROUND_OK)]);
  assert.match(t, /^outcome:\s+completed$/m);
  assert.match(t, new RegExp(`^threshold set: ${PEER_A},${PEER_B}$`, 'm'));
  assert.match(t, /signing-set\s+12D3KooW…\w{6}\s+decided\s+first t by seniority/);
  const missing = await run(['--data-dir', dir, '--offline', 'round', '999']);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "error: NODE_ERROR: no round 999 in this node's data\n");
});

test('deposits, transfers, status and epochs read from the data directory', async () => {
  const d = await offline(['deposits']);
  assert.deepEqual(d, [{ txid: DEPOSIT_TXID, vout: 0, valueSats: '152000', address: fx.request.depositAddress, requestId: fx.request.id, confirmations: 1, state: 'confirmed' }]);
  assert.deepEqual(await offline(['deposits', '--state', 'spent']), []);
  assert.match(await table(['deposits']), new RegExp(`${DEPOSIT_TXID}:0\\s+152000\\s+${fx.request.depositAddress}`));
  const t = await offline(['transfers']);
  assert.equal(t.length, 1);
  assert.equal(t[0].request.id, fx.request.id);
  assert.equal(t[0].request.origin, fx.origin);
  assert.equal(t[0].state, 'confirmed');
  assert.deepEqual([t[0].txid, t[0].confirmations, t[0].finalityDepth, t[0].blockHash], [CUSTODY_TXID, 1, 2, '77'.repeat(32)]);
  assert.deepEqual(t[0].history.map((h: { state: string; blockHash: string | null; height: number | null }) => [h.state, h.blockHash, h.height]), [['in-flight', null, 321], ['confirmed', '77'.repeat(32), 322]]);
  assert.match(await table(['transfers']), new RegExp(`150000\\s+bcrt1q\\w+\\s+bcrt1p\\w+\\s+\\S+Z\\s+confirmed 1/2\\s+${CUSTODY_TXID}\\s+${'77'.repeat(32)}`));
  const s = await offline(['status']);
  assert.equal(s.peerId, peerId);
  assert.equal(s.running, false);
  assert.equal(s.state, 'stopped');
  assert.equal(s.epoch, 2);
  assert.deepEqual(s.peers, { connected: 0, admitted: 2, staked: 2, blocked: 1 });
  assert.match(await table(['status']), /^state:\s+stopped$/m);
  assert.equal((await offline(['epochs']))[0].record.epoch, 2);
});

test('without --offline: the API is tried first, then the data directory, saying so on stderr', async () => {
  const port = await closedPort();
  const r = await run(['--data-dir', dir, 'peers', '--json'], { ...ENV, METANODE_HTTP_PORT: String(port) });
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).length, 3);
  assert.equal(r.err, `note: node API at http://127.0.0.1:${port} not reachable; reading the data directory ${dir}\n`);
  // A write needs the running node.
  const req = await run(['--data-dir', dir, 'request', '--amount', '5000', '--payout', 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', '--refund', 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080'], {
    ...ENV,
    METANODE_HTTP_PORT: String(port),
  });
  assert.equal(req.code, 1);
  assert.match(req.err, /^error: NODE_UNREACHABLE: cannot reach the node API/);
  // An explicit --api never falls back.
  const explicit = await run(['--data-dir', dir, '--api', `http://127.0.0.1:${port}`, 'peers']);
  assert.equal(explicit.code, 1);
});

test('the same data through the HTTP API gives the same JSON for every read command', async () => {
  const cfg = loadConfig(join(dir, 'metanode.yaml'), ENV);
  const reader = openDataDir(cfg);
  const server = createApiServer({
    api: { ...reader, health: () => ({ chain: { reachable: true }, clock: { skewMs: 0 }, peers: { connectedStaked: 0, federationSize: 1 } }), submitRequest: () => Promise.reject(new MetanodeError('INVALID_INPUT', 'read-only')), unblockPeer: () => Promise.reject(new MetanodeError('INVALID_INPUT', 'read-only')), rewards: () => Promise.reject(new MetanodeError('INVALID_INPUT', 'not in a data directory')) },
    port: 0,
  });
  const { url } = await server.listen();
  try {
    for (const cmd of [['status'], ['peers'], ['rounds'], ['round', String(ROUND_OK)], ['deposits'], ['transfers'], ['keys'], ['epochs']]) {
      const viaApi = await run(['--api', url, ...cmd, '--json']);
      assert.equal(viaApi.code, exitOf(cmd), viaApi.err);
      assert.deepEqual(JSON.parse(viaApi.out), await offline(cmd), cmd.join(' '));
    }
  } finally {
    await server.close();
    reader.close();
  }
});

test('reading never writes the database', async () => {
  const before = sha(fx.dbPath);
  for (const cmd of [['status'], ['peers'], ['rounds'], ['round', String(ROUND_OK)], ['deposits'], ['transfers'], ['keys']]) await offline(cmd);
  assert.equal(sha(fx.dbPath), before);
  // A directory without a node database: one line saying so.
  const empty = await run(['--data-dir', join(tmp, 'nothing'), '--offline', 'rounds']);
  assert.equal(empty.code, 1);
  assert.match(empty.err, /^error: NODE_ERROR: no node database at .*nothing\/node\.sqlite: the node has not run with dataDir .*nothing yet\n$/);
});

