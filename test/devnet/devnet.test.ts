// A short devnet run through the CLI handler: four node processes, keygen, transfers with paid
// deposits, until one transfer is paid; the summary names it, carries the custody transaction
// with its prevouts (its signatures verify independently), the vault's balance sheet balances,
// and no node process outlives the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as btc from '@scure/btc-signer';
import { bytesToHex } from '@noble/hashes/utils.js';
import { devnetCommand } from '../../src/cli/commands/devnet.js';
import { renderSummary } from '../../src/devnet/summary.js';
import { verifyTaprootKeySpends } from './verify-tx.js';
import { processesMentioning } from '../support/processes.js';
import { FAST_DEVNET_OVERRIDES } from './fast.js';

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

test('devnet: keygen, a paid transfer, a summary with a verifiable custody tx, no process left', { timeout: 330_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-devnet-'));
  const lines: string[] = [];
  try {
    const summary = await devnetCommand({
      nodes: 4,
      dataDir: join(dir, 'devnet'),
      basePort: 28650,
      blockIntervalMs: 1_000,
      // Covers the node processes' start-up on a busy machine (25 s did not: no key was made).
      keygenUntilMs: 60_000,
      overrides: FAST_DEVNET_OVERRIDES,
      transfers: 2,
      untilPaid: 1,
      durationSec: 260,
      out: (l) => lines.push(l),
    });
    const log = lines.join('\n');

    assert.equal(summary.network, 'regtest');
    assert.equal(summary.nodes.length, 4);
    summary.nodes.forEach((n, i) => {
      assert.match(n.peerId, /^12D3KooW/);
      assert.equal(n.dataDir, join(dir, 'devnet', `node-${i + 1}`));
      assert.equal(n.api, `http://127.0.0.1:${28751 + i}`);
    });
    assert.equal(summary.threshold, 3, log); // floor(2*4/3)+1
    assert.match(summary.groupKey ?? '', /^[0-9a-f]{64}$/);
    const vault = btc.Address(REGTEST).decode(summary.vaultAddress!);
    assert.equal(vault.type, 'tr');
    assert.equal(bytesToHex((vault as { pubkey: Uint8Array }).pubkey), summary.groupKey, 'the vault pays to the group key');

    assert.ok(summary.transfers.length >= 2);
    const paid = summary.transfers.filter((t) => t.status === 'paid');
    assert.ok(paid.length >= 1, `no paid transfer:\n${log}`);
    for (const t of paid) {
      assert.match(t.txid ?? '', /^[0-9a-f]{64}$/);
      const tx = summary.txs.find((x) => x.txid === t.txid);
      assert.ok(tx, `paying tx ${t.txid} missing from txs`);
      assert.ok(verifyTaprootKeySpends(tx) >= 1);
      // It spends the transfer's deposit and pays its payout address.
      const parsed = btc.Transaction.fromRaw(Buffer.from(tx.hex, 'hex'), { allowUnknownOutputs: true });
      const depositScript = bytesToHex(btc.OutScript.encode(btc.Address(REGTEST).decode(t.depositAddress)));
      assert.ok(tx.prevouts.some((p) => p.scriptPubKey === depositScript && p.valueSats === t.amountSats), 'spends the deposit');
      const payoutScript = bytesToHex(btc.OutScript.encode(btc.Address(REGTEST).decode(t.payoutAddress)));
      assert.ok(Array.from({ length: parsed.outputsLength }, (_, i) => parsed.getOutput(i)).some((o) => bytesToHex(o.script!) === payoutScript), 'pays the payout address');
    }
    // Rewards: the paying tx's transfer fees, less its miner fee, accrued equally to the
    // committee (3 or 4 nodes: those online at the keygen that stayed); what was paid in reward outputs (nothing had accrued before the first tx) never
    // exceeds that: the vault pays out no more than it took in.
    const r = summary.rewards;
    assert.ok(r && r.transfers >= 1, `the summary carries the reward ledger: ${JSON.stringify(r)}`);
    assert.ok(r.peers.length >= summary.threshold! && r.peers.length <= 4, `one ledger row per committee member: ${JSON.stringify(r.peers)}`);
    assert.equal(new Set(r.peers.map((p) => p.accruedSats)).size, 1, 'equal accrual');
    assert.ok(BigInt(r.peers[0]!.accruedSats) > 0n);
    assert.ok(BigInt(r.poolSats) <= BigInt(r.transfers) * 2_000n - BigInt(r.minerFeesSats), 'pool <= transfer fees - miner fees');
    assert.ok(r.peers.reduce((s, p) => s + BigInt(p.paidSats) + BigInt(p.inFlightSats), 0n) <= BigInt(r.poolSats), 'rewards paid <= pool');
    assert.match(renderSummary(summary), /rewards: \d+ sats accrued from \d+ transfer fee\(s\)/);

    // The vault's balance sheet (src/devnet/balance-sheet.ts), from the chain and every node's
    // report: balanced to the satoshi, what went in at most what the run deposited.
    const sheet = summary.balanceSheet;
    assert.ok(sheet, `the summary carries the balance sheet:\n${log}`);
    assert.deepEqual(sheet.problems, [], renderSummary(summary));
    assert.equal(BigInt(sheet.depositsIn), BigInt(sheet.payouts) + BigInt(sheet.refunds) + BigInt(sheet.rewards) + BigInt(sheet.minerFees) + BigInt(sheet.held));
    const sum = (ts: typeof summary.transfers) => ts.reduce((a, t) => a + BigInt(t.amountSats), 0n);
    assert.ok(BigInt(sheet.depositsIn) >= sum(paid) && BigInt(sheet.depositsIn) <= sum(summary.transfers), `deposits in ${sheet.depositsIn}`);
    assert.ok(sheet.transfersPaid >= paid.length);
    assert.match(renderSummary(summary), /balance sheet at height \d+: [1-9]\d* custody tx\(s\)[\s\S]*balanced:/);

    // The check is real: a prevout amount the signature did not commit to fails it.
    const tx0 = summary.txs[0]!;
    assert.throws(() => verifyTaprootKeySpends({ ...tx0, prevouts: tx0.prevouts.map((p, i) => (i === 0 ? { ...p, valueSats: p.valueSats + 1 } : p)) }), /input 0: BIP340 signature does not verify/);

    // The live view showed keygen progress and one line per decided round.
    assert.match(log, /keygen: \d+s until keygen_until; /);
    assert.match(log, /federation ready: epoch \d+ locked in/);
    assert.match(log, /round \d+: completed phase=\w+ threshold-set=\[(node-\d,?){3,4}\] txid=[0-9a-f]{64}/);
    assert.match(renderSummary(summary), /transfers: \d+ submitted, [1-9]\d* paid/);

    assert.deepEqual(processesMentioning(join(dir, 'devnet')), [], 'node processes outlived the devnet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
