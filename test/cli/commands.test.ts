import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { createApiClient, type ApiClient } from '../../src/cli/client.js';
import { statusCommand, statusView } from '../../src/cli/commands/status.js';
import { peersCommand, peersView } from '../../src/cli/commands/peers.js';
import { roundsCommand, roundCommand, renderRound, roundsView } from '../../src/cli/commands/rounds.js';
import { transfersCommand, depositsCommand, transfersView } from '../../src/cli/commands/transfers.js';
import { epochsCommand } from '../../src/cli/commands/epochs.js';
import { rewardsCommand, renderRewards } from '../../src/cli/commands/rewards.js';
import { requestCommand, parseAmount, parseExpiry } from '../../src/cli/commands/request.js';
import { initCommand } from '../../src/cli/commands/init.js';
import { keysCommand, localKeys, renderKeys } from '../../src/cli/commands/keys.js';
import { stakeCommand, renderStake } from '../../src/cli/commands/stake.js';
import { startCommand } from '../../src/cli/commands/start.js';
import { devnetCommand } from '../../src/cli/commands/devnet.js';
import { loadExport } from '../../src/cli/lazy.js';
import { UsageError, EXIT_SHARE_INCONSISTENCY } from '../../src/cli/exit-codes.js';
import { render } from '../../src/cli/print.js';
import { parseConfig } from '../../src/config/index.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { fakeNode, PAYOUT, REFUND, STATUS, PEER_A, PEER_B, REQUEST, EPOCHS, type FakeNode } from '../api/fake-node.js';

let node: FakeNode;
let server: ApiServer;
let client: ApiClient;
const tmp = mkdtempSync(join(tmpdir(), 'metanode-cli-'));

before(async () => {
  node = fakeNode();
  server = createApiServer({ api: node, port: 0, auth: { token: 'cd'.repeat(32) } });
  client = createApiClient((await server.listen()).url, { timeoutMs: 5000, token: 'cd'.repeat(32) });
});
after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('read handlers return the node data', async () => {
  const s = await statusCommand(client);
  assert.equal(s.peerId, STATUS.peerId);
  assert.equal(s.chain.tipHeight, 321);
  const p = await peersCommand(client);
  assert.deepEqual(p[0], { peerId: PEER_B, state: 'idle', seniority: 0, lastSeen: 1_700_000_041_000, stake: { outpoint: `${'cd'.repeat(32)}:0`, sats: '2000000', valid: true, reason: null } });
  const r = await roundsCommand(client, { limit: 1 });
  assert.deepEqual(r, [{ id: 28_333_334, startedAt: 1_700_000_040_000, outcome: 'completed', thresholdSet: [PEER_A, PEER_B], txid: 'ef'.repeat(32), culprits: [] }]);
  assert.deepEqual(node.calls.at(-1), { method: 'rounds', arg: { limit: 1 } });
  const t = await roundCommand(client, '28333334');
  assert.deepEqual(t.events, [{ at: 1_700_000_040_100, phase: 'proposal', peer: PEER_B, decision: 'accept', reason: null }]);
  assert.equal(t.outcome, 'completed');
  assert.equal((await transfersCommand(client, { state: 'pending' }))[0]!.request.id, REQUEST.id);
  assert.equal((await depositsCommand(client))[0]!.valueSats, '152000');
  assert.equal((await epochsCommand(client))[0]!.record.epoch, 2);
});

test('rewards: the API route gives accrued, paid and balance per peer; the table shows them and the totals', async () => {
  const r = await rewardsCommand(client);
  assert.equal(r.minPayout, '10000');
  assert.deepEqual(r.peers[0], { peerId: PEER_A, accrued: '14000', paid: '0', inFlight: '0', balance: '14000', due: true });
  assert.equal(r.peers[1]!.due, false);
  assert.deepEqual(r.totals, { transfers: 12, minerFees: '3000', pool: '21000', remainder: '1' });
  const text = renderRewards(r);
  assert.match(text, /PEER\s+ACCRUED\s+PAID\s+IN FLIGHT\s+BALANCE\s+DUE/);
  assert.match(text, new RegExp(`${PEER_A}\\s+14000\\s+0\\s+0\\s+14000\\s+yes`));
  assert.match(text, /minimum payout 10000 sats/);
  assert.doesNotMatch(text, /incomplete/);
  assert.match(renderRewards({ ...r, complete: false, waiting: [{ txid: 'ab'.repeat(32), reason: 'epoch 3 record unknown' }] }), /incomplete: 1 custody tx\(s\).*epoch 3 record unknown/);
});

test('round: bad id is a usage error; unknown id names the 404', async () => {
  await assert.rejects(roundCommand(client, 'x1'), UsageError);
  await assert.rejects(roundCommand(client, '7'), (e: unknown) => isMetanodeError(e, 'NODE_ERROR') && /\(404 NOT_FOUND\): no round 7/.test(e.message));
});

test('request: parses amount and expiry, posts, returns the record with its deposit address', async () => {
  const rec = await requestCommand(client, { amount: '0.0015btc', payout: PAYOUT, refund: REFUND, expiry: '2h', now: 1_700_000_000 });
  assert.equal(rec.depositAddress, REQUEST.depositAddress);
  assert.deepEqual(node.submitted.at(-1), { amountSats: 150_000n, payoutAddress: PAYOUT, refundAddress: REFUND, expiry: 1_700_007_200 });
  await assert.rejects(requestCommand(client, { amount: '5', payout: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', refund: REFUND }), (e: unknown) =>
    isMetanodeError(e, 'INVALID_INPUT') && /not a regtest address/.test(e.message),
  );
  await assert.rejects(requestCommand(client, { amount: '5', payout: PAYOUT, refund: REFUND, expiry: '1000000000', now: 1_700_000_000 }), /in the past/);
  assert.equal(parseAmount('150000'), 150_000n);
  assert.equal(parseAmount('150000 sats'), 150_000n);
  assert.equal(parseAmount('1btc'), 100_000_000n);
  assert.equal(parseAmount('0.00000001BTC'), 1n);
  assert.throws(() => parseAmount('1.5'), UsageError);
  assert.throws(() => parseAmount('0.000000001btc'), UsageError);
  assert.equal(parseExpiry('3d', 100), 100 + 3 * 86400);
  assert.equal(parseExpiry('1800000000', 0), 1_800_000_000);
  assert.equal(parseExpiry('2027-01-01T00:00:00Z', 0), 1_798_761_600);
  assert.throws(() => parseExpiry('soon', 0), UsageError);
});

test('printer: table vs JSON', async () => {
  const peers = await peersCommand(client);
  const table = render(peers, { view: peersView });
  const lines = table.split('\n');
  assert.match(lines[0]!, /^PEER\s+STATE\s+SEN\s+LAST SEEN\s+STAKE\s+SATS\s+VALID\s+REASON$/);
  assert.match(lines[1]!, /^-+\s+-+/);
  assert.ok(lines[2]!.startsWith(PEER_B));
  assert.match(lines[2]!, /idle\s+0\s+2023-11-14T22:14:01Z\s+cdcdcdcd…cdcd:0\s+2000000\s+yes\s+-$/);
  const json = render(peers, { json: true, view: peersView });
  assert.deepEqual(JSON.parse(json), peers);

  const st = render(await statusCommand(client), { view: statusView });
  assert.match(st, /^peer id:\s+12D3KooW/m);
  assert.match(st, /^threshold:\s+3 of 4$/m);
  assert.match(st, /^stake:\s+(ab){32}:1 valid$/m);
  assert.match(st, /^round:\s+-$/m);

  assert.equal(render([], { view: roundsView }), '(no rounds yet)');
  assert.match(render(await transfersCommand(client), { view: transfersView }), /150000/);
  // below finality depth the state shows its depth; the block of the last change is shown
  const [pending] = await transfersCommand(client);
  const confirmed = { ...pending!, state: 'confirmed', txid: 'cd'.repeat(32), confirmations: 1, blockHash: 'ab'.repeat(32) };
  const text = render([confirmed, { ...confirmed, state: 'paid', confirmations: 2 }], { view: transfersView });
  assert.match(text, new RegExp(`confirmed 1/2\\s+(cd){32}\\s+(ab){32}`));
  assert.match(text, /\bpaid\s+(cd){32}/);
  const tl = renderRound(await roundCommand(client, '28333334'));
  assert.match(tl, /^outcome:\s+completed$/m);
  assert.match(tl, /^threshold set:\s+12D3KooW\w+,12D3KooW\w+$/m);
  assert.match(tl, /^txid:\s+(ef){32}$/m);
  assert.match(tl, /PHASE\s+PEER\s+DECISION\s+REASON/);
  assert.match(tl, /2023-11-14T22:14:00\.100Z\s+proposal\s+12D3KooW…\w{6}\s+accept/);
  // Without a view, objects flatten and bigints print as decimals.
  assert.equal(render({ a: { b: 1n, c: [1, 2] }, d: null }, {}), 'a.b: 1\na.c: 1,2\nd:   -');
  assert.equal(render({ a: 1n }, { json: true }), '{\n  "a": "1"\n}');
});

test('node down: a clear error naming the URL and what to do', async () => {
  const dead = createApiServer({ api: fakeNode(), port: 0 });
  const { url } = await dead.listen();
  await dead.close();
  const c = createApiClient(url, { timeoutMs: 2000 });
  await assert.rejects(statusCommand(c), (e: unknown) => {
    assert.ok(isMetanodeError(e, 'NODE_UNREACHABLE'));
    assert.match(e.message, new RegExp(`cannot reach the node API at ${url.replace(/\./g, '\\.')} \\(connection refused\\)\\. Is the node running`));
    return true;
  });
  assert.throws(() => createApiClient('localhost:9180'), /--api must be an http\(s\) URL/);
});

test('slow node: the client times out with a clear error', async () => {
  const slow = fakeNode();
  slow.status = () => new Promise(() => {});
  const s = createApiServer({ api: slow, port: 0, handlerTimeoutMs: 5_000 });
  const { url } = await s.listen();
  try {
    await assert.rejects(statusCommand(createApiClient(url, { timeoutMs: 200 })), /no answer within 200 ms/);
  } finally {
    await s.close();
  }
});

function configFor(dir: string) {
  return parseConfig({ chain: { esploraUrl: 'http://127.0.0.1:1' }, dataDir: dir, keystore: { scryptN: 1024 } }, {}, { cwd: dir });
}
const ENV = { METANODE_PASSPHRASE: 'a long enough passphrase' };

test('init creates then keeps the identity; keys shows public material offline and with the API', async () => {
  const dir = join(tmp, 'init');
  const cfg = configFor(dir);
  const first = await initCommand(cfg, ENV);
  assert.equal(first.created, true);
  assert.match(first.peerId, /^12D3KooW/);
  assert.equal(first.keystoreDir, join(dir, 'keys'));
  const second = await initCommand(cfg, ENV);
  assert.deepEqual(second, { ...first, created: false });
  await assert.rejects(initCommand(cfg, { METANODE_PASSPHRASE: 'the wrong passphrase' }), /KEYSTORE: cannot decrypt/);
  await assert.rejects(initCommand(cfg, {}), /set the environment variable METANODE_PASSPHRASE/);

  assert.deepEqual(localKeys(cfg), { peerId: first.peerId, keystoreDir: join(dir, 'keys'), shareEpochs: [] });
  const keys = await keysCommand(client);
  const e = EPOCHS.epochs[0]!;
  assert.deepEqual(keys, { epoch: 2, groupKey: e.key.outputKey, internalKey: e.key.internalKey, vaultAddress: e.vaultAddress, threshold: 1, committee: [PEER_A] });
  const table = renderKeys(keys, localKeys(cfg));
  assert.match(table, new RegExp(`^group key:\\s+${e.key.outputKey}$`, 'm'));
  assert.match(table, new RegExp(`^this node:\\s+${first.peerId} \\(not in the committee\\)$`, 'm'));
});

test('stake: how-to with the OP_RETURN commitment, and status from the node', async () => {
  const dir = join(tmp, 'stake');
  const cfg = configFor(dir);
  await assert.rejects(stakeCommand(cfg), /run `metanode init` first|does not exist/);
  const { peerId } = await initCommand(cfg, ENV);
  const r = await stakeCommand(cfg, { reward: PAYOUT, stakeAddress: REFUND });
  assert.equal(r.peerId, peerId);
  assert.equal(r.outpoint, null);
  assert.equal(r.howTo!.amountSats, '1000000');
  // P2WPKH reward: 67-byte payload, a direct push: OP_RETURN 0x43 'MNST' 0x01
  assert.match(r.howTo!.opReturnScript, /^6a434d4e535401/);
  assert.equal(r.howTo!.opReturnScript.slice(4), r.howTo!.dataHex);
  assert.match(r.howTo!.steps[0]!, new RegExp(`outputs='\\[\\{"${REFUND}": 0\\.01\\}, \\{"data": "${r.howTo!.dataHex}"\\}\\]'`));
  assert.match(r.howTo!.steps[0]!, /^bitcoin-cli -regtest /);
  assert.match(renderStake(r), /To stake 1000000 sats for this peer id:\n  1\. bitcoin-cli/);
  await assert.rejects(stakeCommand(cfg, { reward: PAYOUT, amountSats: 5n }), /below stake\.minSats/);

  const withStake = parseConfig({ chain: { esploraUrl: 'http://127.0.0.1:1' }, dataDir: dir, keystore: { scryptN: 1024 }, stake: { txid: 'ab'.repeat(32), vout: 1 } }, {}, { cwd: dir });
  const s = await stakeCommand(withStake, {}, { client });
  assert.deepEqual(s.status, { source: 'node', valid: true });
  assert.match(renderStake(s), /^status:\s+valid \[node\]$/m);
});

// verify-epoch against real signed records: test/cli/verify-epoch.test.ts

test('start: checks the keystore, runs the injected node until it ends itself, returns its exit code and stops it', async () => {
  const cfg = configFor(join(tmp, 'start'));
  await initCommand(cfg, ENV);
  let stopped = 0;
  let gotPassphrase: unknown;
  const code = await startCommand(cfg, {
    startNode: async (_c, o) => {
      gotPassphrase = o?.passphrase;
      return { stop: async () => void stopped++, done: Promise.resolve(EXIT_SHARE_INCONSISTENCY) };
    },
    signals: [],
    env: ENV,
  });
  assert.equal(code, 65);
  assert.equal(stopped, 1);
  // The checked passphrase is handed to the node, with its source.
  assert.deepEqual(gotPassphrase, { passphrase: ENV.METANODE_PASSPHRASE, source: 'the environment variable METANODE_PASSPHRASE' });
  // A signal stops it with 0.
  const p = startCommand(cfg, { startNode: async () => ({ stop: async () => void stopped++ }), signals: ['SIGUSR2'], env: ENV });
  // The handler is installed once the keystore check (scrypt) is done.
  for (let i = 0; i < 500 && process.listenerCount('SIGUSR2') === 0; i++) await new Promise((r) => setTimeout(r, 20));
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.equal(await p, 0);
  assert.equal(stopped, 2);
});

test('devnet passes its options through; missing lazy modules give a clear error', async () => {
  let got: unknown;
  const summary = { network: 'regtest' as const, nodes: [], threshold: null, groupKey: null, vaultAddress: null, transfers: [], txs: [], rewards: null, balanceSheet: null };
  assert.equal(await devnetCommand({ nodes: 4, fresh: false }, { runDevnet: async (o) => ((got = o), summary) }), summary);
  assert.deepEqual(got, { nodes: 4, fresh: false });
  await assert.rejects(loadExport('../no-such-module.js', 'x', 'the thing'), /NODE_ERROR: the thing is not available in this build \(\.\.\/no-such-module\.js is missing\)/);
  await assert.rejects(loadExport('./print.js', 'nope', 'printer'), /printer: \.\/print\.js does not export a function nope/);
  assert.equal(typeof (await loadExport('./print.js', 'render', 'printer')), 'function');
  writeFileSync(join(tmp, 'x'), '');
});
