// The process federation (src/devnet/federation.ts): three real node processes on loopback
// against the devchain reach one locked-in key; a killed node comes back with start(); stop()
// leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startProcessFederation, agreedKey, type NodeKeyState } from '../../src/devnet/federation.js';
import { deepMerge, nodeConfig } from '../../src/devnet/node-config.js';
import { processesMentioning } from '../support/processes.js';

/** True while a process with this pid exists (signal 0 only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

test('options are validated before anything starts', async () => {
  const dir = join(tmpdir(), 'metanode-fed-never-created');
  await assert.rejects(startProcessFederation({ nodes: 31, dir, basePort: 28000 }), /nodes must be a whole number from 3 to 30, got 31/);
  await assert.rejects(startProcessFederation({ nodes: 2, dir, basePort: 28000 }), /from 3 to 30, got 2/);
  await assert.rejects(startProcessFederation({ nodes: 3, dir, basePort: 80 }), /basePort must be a whole number from 1024/);
  await assert.rejects(startProcessFederation({ nodes: 3, dir, basePort: 28000, keygenUntilMs: -1 }), /keygenUntilMs must be/);
  assert.equal(existsSync(dir), false);
});

test('a node that refuses its config fails the start with the node\'s own reason; nothing keeps running', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-fed-refused-'));
  try {
    await assert.rejects(
      startProcessFederation({ nodes: 3, dir, basePort: 28060, config: { schedule: { signing: '*/8 * * * * *' } }, out: () => {} }),
      (e: Error) => /node-\d exited during start \(78\): config error: schedule\.signing: "\*\/8 \* \* \* \* \*" fires at uneven intervals/.test(`${e.message} ${(e.cause as Error | undefined)?.message ?? ''}`),
    );
    assert.deepEqual(processesMentioning(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config layers: base, overrides, wiring, per-node; arrays replace', () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: { f: 2 } }), { a: { b: 1, c: [3] }, d: 1, e: { f: 2 } });
  const cfg = nodeConfig(
    { keystore: { scryptN: 1024, passphraseFile: '/x' }, p2p: { listen: ['/ip4/0.0.0.0/tcp/1'], pingIntervalMs: 3000 }, schedule: { signing: 'a' } },
    { p2p: { pingIntervalMs: 500, listen: ['/ip4/1.2.3.4/tcp/9'] }, schedule: { signing: 'b' } },
    { dir: '/d/node-1', p2pPort: 2, httpPort: 3, stake: { txid: 'aa', vout: 0 }, bootstrap: ['x'], chain: { source: 'esplora', esploraUrl: 'http://127.0.0.1:1' }, keygenUntil: new Date(0) },
    { schedule: { signing: 'c' } },
  );
  assert.deepEqual(cfg.keystore, { scryptN: 1024, dir: '/d/node-1/keys', passphraseEnv: 'METANODE_PASSPHRASE' });
  assert.deepEqual(cfg.p2p, { listen: ['/ip4/127.0.0.1/tcp/2'], pingIntervalMs: 500, bootstrap: ['x'] });
  assert.deepEqual(cfg.schedule, { signing: 'c', keygenUntil: '1970-01-01T00:00:00.000Z' });
  assert.deepEqual(cfg.http, { host: '127.0.0.1', port: 3 });
  assert.deepEqual(cfg.chain, { source: 'esplora', esploraUrl: 'http://127.0.0.1:1' });
  const core = nodeConfig(
    { chain: { source: 'esplora', esploraUrl: 'http://127.0.0.1:1', pollMs: 500 } },
    undefined,
    { dir: '/d/node-2', p2pPort: 4, httpPort: 5, stake: { txid: 'bb', vout: 0 }, bootstrap: [], chain: { source: 'bitcoind', bitcoind: { url: 'http://127.0.0.1:1', cookieFile: '/d/devchain/.cookie', wallet: 'metanode-node-2' } }, keygenUntil: new Date(0) },
    undefined,
  );
  assert.deepEqual(core.chain, { source: 'bitcoind', esploraUrl: 'http://127.0.0.1:1', pollMs: 500, bitcoind: { url: 'http://127.0.0.1:1', cookieFile: '/d/devchain/.cookie', wallet: 'metanode-node-2' } });
});

test('agreedKey: only after keygen_until, every running node locked on the same key, none in keygen', () => {
  const s = (o: Partial<NodeKeyState>): NodeKeyState => ({ name: 'n', running: true, state: 'idle', epoch: 2, vaultAddress: 'v', outputKey: 'k', threshold: 3, committeeSize: 3, locked: true, ...o });
  const until = new Date(1_000);
  const want = { epoch: 2, groupKey: 'k', vaultAddress: 'v', threshold: 3 };
  assert.deepEqual(agreedKey([s({}), s({}), s({ running: false, epoch: null, locked: false, state: null })], until, 2_000), want);
  assert.equal(agreedKey([s({}), s({})], until, 999), null);
  assert.equal(agreedKey([s({}), s({ locked: false })], until, 2_000), null);
  assert.equal(agreedKey([s({}), s({ state: 'keygen' })], until, 2_000), null);
  assert.equal(agreedKey([s({}), s({ epoch: 3 })], until, 2_000), null);
  assert.equal(agreedKey([s({}), s({ state: null })], until, 2_000), null);
  assert.equal(agreedKey([s({ running: false })], until, 2_000), null);
});

test('three node processes lock in one key; a killed node restarts (also after its port was busy); stop leaves no process', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-fed-'));
  const lines: string[] = [];
  const fed = await startProcessFederation({
    nodes: 3,
    dir,
    basePort: 28000,
    blockIntervalMs: 1_000,
    keygenUntilMs: 40_000,
    config: { schedule: { keygen: '*/10 * * * * *', signing: '*/10 * * * * *', regroup: '59 59 23 * * *' }, p2p: { pingIntervalMs: 1_000, peerTimeoutMs: 6_000, bootstrapGraceMs: 60_000 } },
    out: (l) => lines.push(l),
  });
  const pids = new Set<number>();
  try {
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const node of fed.nodes) {
      assert.equal(node.running, true, `${node.name} running`);
      assert.ok(node.pid !== undefined && processExists(node.pid));
      pids.add(node.pid!);
      assert.equal(statSync(node.configFile).mode & 0o777, 0o600);
      assert.ok(existsSync(node.logFile), `${node.name} log`);
      assert.deepEqual(await node.api.get<{ peerId: string }>('/v1/status').then((s) => s.peerId), node.peerId);
    }
    assert.deepEqual(fed.nodes.map((x) => [x.p2pPort, x.httpPort]), [[28001, 28101], [28002, 28102], [28003, 28103]]);

    const key = await fed.waitForKey(90_000);
    assert.ok(Date.now() >= fed.keygenUntil.getTime());
    assert.ok(key.epoch >= 1);
    assert.match(key.groupKey, /^[0-9a-f]{64}$/);
    assert.match(key.vaultAddress, /^bcrt1p/);
    assert.equal(key.threshold, 3); // floor(2n/3)+1 of 3
    assert.equal(await fed.threshold(), 3);
    assert.ok(existsSync(fed.nodes[0]!.dbFile));

    // A node killed outright is not running; start() brings it back on the same ports and key.
    const victim = fed.nodes[2]!;
    const oldPid = victim.pid!;
    victim.kill('SIGKILL');
    await waitUntil(() => !victim.running && !processExists(oldPid), 10_000, 'the killed node to be gone');
    assert.equal(victim.pid, undefined);
    // Its HTTP port taken meanwhile (as an outgoing connection may take one of ours): start()
    // sees EADDRINUSE and tries again once the port is free.
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => squatter.listen(victim.httpPort, '127.0.0.1', r));
    const restarted = victim.start();
    await waitUntil(() => lines.some((l) => l.includes(`127.0.0.1:${victim.httpPort} is in use; starting again`)), 30_000, 'the port-in-use retry');
    await new Promise((r) => squatter.close(r));
    await restarted;
    assert.equal(victim.running, true);
    pids.add(victim.pid!);
    const st = await victim.api.get<{ peerId: string; epoch: number | null }>('/v1/status');
    assert.equal(st.peerId, victim.peerId);
    assert.equal(st.epoch, key.epoch);
  } finally {
    await fed.stop();
    await fed.stop(); // idempotent
  }
  for (const node of fed.nodes) assert.equal(node.running, false, `${node.name} still running`);
  for (const pid of pids) assert.equal(processExists(pid), false, `process ${pid} outlived stop()`);
  assert.ok(lines.some((l) => l.startsWith('stakes: 3 operators')));
  rmSync(dir, { recursive: true, force: true });
});

async function waitUntil(fn: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
