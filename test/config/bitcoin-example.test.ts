// The Bitcoin Core example (config/bitcoin.example.conf with config/metanode.example.yaml) is what
// the node's start checks accept: a devchain set up as that bitcoin.conf says passes them with the
// example's chain section, and turning any of its metanode settings around is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BitcoindChainSource } from '../../src/chain/bitcoind.js';
import { startDevchain, type CoreRpcOptions } from '../../src/chain/devchain/index.js';
import { loadConfig } from '../../src/config/load.js';
import { isMetanodeError } from '../../src/util/errors.js';

function conf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const i = l.indexOf('=');
    assert.ok(i > 0, `not key=value: ${l}`);
    m.set(l.slice(0, i), l.slice(i + 1));
  }
  return m;
}

/** How a bitcoind started with these settings behaves, as the devchain simulates it. */
function coreFor(c: Map<string, string>): CoreRpcOptions {
  return {
    version: 280100,
    ...(Number(c.get('prune') ?? '0') > 0 ? { prunedBelow: 1 } : {}),
    ...(c.get('txindex') === '1' ? { txindex: true } : {}),
    ...(c.get('disablewallet') === '1' ? { disableWallet: true } : {}),
  };
}

test('config/bitcoin.example.conf with the example chain section passes the start checks; its opposite is refused', async () => {
  const c = conf(readFileSync('config/bitcoin.example.conf', 'utf8'));
  assert.equal(c.get('server'), '1');
  assert.equal(c.get('rpccookieperms'), 'group', 'the metanode user reads the cookie through the group');
  assert.equal(c.get('rpcbind'), '127.0.0.1');
  const ex = loadConfig('config/metanode.example.yaml', {});
  assert.equal(ex.chain.source, 'bitcoind');
  assert.equal(ex.chain.bitcoind.wallet, 'metanode');
  assert.equal(ex.chain.bitcoind.cookieFile, '/var/lib/bitcoind/.cookie');

  const source = (dc: Awaited<ReturnType<typeof startDevchain>>) =>
    new BitcoindChainSource({ ...ex.chain.bitcoind, url: dc.url, cookieFile: dc.rpc.cookieFile, network: 'regtest' });
  const dir = mkdtempSync(join(tmpdir(), 'core-example-'));
  try {
    const good = await startDevchain({ network: 'regtest', dataDir: join(dir, 'good'), core: coreFor(c) });
    try {
      await source(good).ready();
      assert.equal(good.rpc.core.wallets.get('metanode')?.privateKeys, false, 'the node created its watch-only wallet');
    } finally {
      await good.close();
    }
    const flipped = new Map(c);
    flipped.set('prune', '550');
    flipped.set('disablewallet', '1');
    const bad = await startDevchain({ network: 'regtest', dataDir: join(dir, 'bad'), core: coreFor(flipped) });
    try {
      await assert.rejects(source(bad).ready(), (e: unknown) => {
        assert.ok(isMetanodeError(e, 'INVALID_CONFIG'));
        assert.equal((e.detail?.problems as string[]).length, 2);
        assert.match(e.message, /- bitcoind is pruned: .*\n  - bitcoind runs with -disablewallet/);
        return true;
      });
    } finally {
      await bad.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
