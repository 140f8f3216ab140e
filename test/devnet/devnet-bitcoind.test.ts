// `metanode devnet --chain bitcoind`: the whole devnet with every node reading the devchain
// through the Bitcoin Core adapter (JSON-RPC with the cookie, a watch-only wallet per node, stakes
// checked without -txindex). Runs until a transfer is paid; the paying transaction spends the
// transfer's deposit, which each node followed through its wallet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as btc from '@scure/btc-signer';
import { bytesToHex } from '@noble/hashes/utils.js';
import YAML from 'yaml';
import { devnetCommand } from '../../src/cli/commands/devnet.js';
import { devchainMigrations } from '../../src/chain/devchain/index.js';
import { openDb } from '../../src/store/db.js';
import { verifyTaprootKeySpends } from './verify-tx.js';
import { processesMentioning } from '../support/processes.js';
import { FAST_DEVNET_OVERRIDES } from './fast.js';

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

test('devnet --chain bitcoind: nodes on the Core adapter pay a transfer; each followed the deposit in its own watch-only wallet', { timeout: 330_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-devnet-core-'));
  const lines: string[] = [];
  try {
    const summary = await devnetCommand({
      nodes: 4,
      chain: 'bitcoind',
      dataDir: join(dir, 'devnet'),
      basePort: 61200,
      blockIntervalMs: 1_000,
      // Counted from when the stakes are in place, before the node processes start: generous, so
      // that a loaded machine still has every node up before the key is locked in.
      keygenUntilMs: 90_000,
      overrides: FAST_DEVNET_OVERRIDES,
      transfers: 2,
      untilPaid: 1,
      durationSec: 300,
      out: (l) => lines.push(l),
    });
    const log = lines.join('\n');
    assert.match(log, /devchain: Bitcoin Core JSON-RPC \(cookie .*devchain\/\.cookie\)/);
    for (let i = 1; i <= 4; i++) {
      const cfg = YAML.parse(readFileSync(join(dir, 'devnet', `node-${i}`, 'metanode.yaml'), 'utf8')) as { chain: { source: string; bitcoind: { wallet: string; cookieFile: string } } };
      assert.equal(cfg.chain.source, 'bitcoind');
      assert.equal(cfg.chain.bitcoind.wallet, `metanode-node-${i}`);
    }
    assert.equal(summary.threshold, 3, log); // floor(2*4/3)+1: one slow node on a loaded machine does not stop a round
    const paid = summary.transfers.filter((t) => t.status === 'paid');
    assert.ok(paid.length >= 1, `no paid transfer:\n${log}`);
    const t = paid[0]!;
    const tx = summary.txs.find((x) => x.txid === t.txid);
    assert.ok(tx, `paying tx ${t.txid} missing from txs`);
    assert.ok(verifyTaprootKeySpends(tx) >= 1);
    const depositScript = bytesToHex(btc.OutScript.encode(btc.Address(REGTEST).decode(t.depositAddress)));
    assert.ok(tx.prevouts.some((p) => p.scriptPubKey === depositScript && p.valueSats === t.amountSats), 'spends the deposit');

    // Every node created its wallet watch-only and imported the vault and the paid deposit address, once.
    const db = openDb(join(dir, 'devnet', 'devchain', 'devchain.sqlite'), devchainMigrations);
    try {
      const wallets = db.prepare('SELECT name, private_keys FROM devchain_wallets ORDER BY name').all();
      assert.deepEqual(wallets, [1, 2, 3, 4].map((i) => ({ name: `metanode-node-${i}`, private_keys: 0 })));
      for (let i = 1; i <= 4; i++) {
        const descs = (db.prepare('SELECT descriptor FROM devchain_wallet_descriptors WHERE wallet = ?').all(`metanode-node-${i}`) as { descriptor: string }[]).map((d) => d.descriptor);
        assert.equal(new Set(descs).size, descs.length);
        assert.ok(descs.some((d) => d.startsWith(`addr(${summary.vaultAddress})#`)), `node-${i} watches the vault`);
        assert.ok(descs.some((d) => d.startsWith(`addr(${t.depositAddress})#`)), `node-${i} watches the paid deposit`);
      }
    } finally {
      db.close();
    }
    assert.deepEqual(processesMentioning(join(dir, 'devnet')), [], 'node processes outlived the devnet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
