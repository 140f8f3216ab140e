// The vault's balance sheet after a devnet run (issue 15): five node processes on the devchain,
// batches of transfers with paid deposits until every one is paid and a custody tx has paid
// rewards; then the chain alone (every block walked, src/devnet/audit.ts) and the nodes' reports
// must give deposits in = payouts + refunds + rewards + miner fees + held, to the satoshi, with
// rewards within the transfer fees taken in and every node's reward ledger equal to the reward
// outputs on the chain. The test checks the sheet's totals against what it deposited itself and
// against the devchain's own unspent outputs, not only against the sheet's own arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcessFederation, type ProcessFederation, type RequestedTransfer } from '../../src/devnet/federation.js';
import { auditFederation, readBook, readChain } from '../../src/devnet/audit.js';
import { balanceSheet, renderBalanceSheet } from '../../src/devnet/balance-sheet.js';
import { sleep } from '../../src/devnet/proc-node.js';
import type { TransferView, RewardsView } from '../../src/api/types.js';
import { FAST_DEVNET_OVERRIDES } from '../devnet/fast.js';
import { chooseBasePort } from '../chaos/harness.js';
import { processesMentioning } from '../support/processes.js';

const N = 5;
const FEE = 2_000n; // config/devnet.yaml custody.transferFeeSats
const BATCH = 2;
const MAX_BATCHES = 4;

/** Polls `probe` until it returns a value (not undefined); throws naming `what` and the last note after `ms`. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, note: () => string = () => ''): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms: ${what} ${note()}`);
    await sleep(1_000);
  }
}

test('devnet balance sheet: after several transfers and a reward payout, deposits in = payouts + rewards + miner fees + held, to the satoshi', { timeout: 480_000 }, async (t) => {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'metanode-e2e-sheet-'));
  const lines: string[] = [];
  const out = (l: string) => lines.push(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}`);
  let fed: ProcessFederation | undefined;
  let ok = false;
  try {
    const basePort = await chooseBasePort(26_500, N);
    fed = await startProcessFederation({ nodes: N, dir, basePort, blockIntervalMs: 1_000, keygenUntilMs: 60_000, config: FAST_DEVNET_OVERRIDES, out });
    const key = await fed.waitForKey(150_000);
    out(`key locked in: epoch ${key.epoch}, ${key.threshold}-of-${N}, vault ${key.vaultAddress}`);
    const nodes = fed.nodes;

    // Batches of transfers, each waited for until every transfer so far is paid (finality depth
    // on some node), until the chain holds a reward output (the devnet's minimum payout is 500:
    // the first batch's fees accrue, a later batch's custody tx pays them).
    const deposited: RequestedTransfer[] = [];
    const paidSomewhere = async () => {
      const views = await Promise.all(nodes.map((n) => n.api.get<TransferView[]>('/v1/transfers', { limit: 1000 }).catch(() => [] as TransferView[])));
      return new Set(views.flat().filter((t) => t.state === 'paid').map((t) => t.request.id));
    };
    const rewardsPaid = async () => {
      const r = await nodes[0]!.api.get<RewardsView>('/v1/rewards');
      return r.peers.reduce((s, p) => s + BigInt(p.paidSats), 0n);
    };
    for (let batch = 1; batch <= MAX_BATCHES; batch++) {
      for (let i = 0; i < BATCH; i++) deposited.push(await fed.requestTransfer(nodes[deposited.length % N]!, 40_000 + 1_000 * deposited.length));
      out(`batch ${batch}: ${deposited.length} transfers requested and deposited`);
      let seen = new Set<string>();
      await until(`batch ${batch}: all ${deposited.length} transfers paid`, 150_000, async () => {
        seen = await paidSomewhere();
        return deposited.every((t) => seen.has(t.id)) ? true : undefined;
      }, () => `(${seen.size} paid)`);
      const rewarded = await rewardsPaid();
      out(`batch ${batch}: all paid; rewards paid in blocks so far ${rewarded}`);
      if (rewarded > 0n) break;
    }

    // No transfer is pending, so no round builds another custody tx: the chain holds still. The
    // audit reads again while a node's ledger is behind the chain (a problem), for up to a minute.
    const network = 'regtest';
    const settled = await auditFederation({ esploraUrl: fed.devchain.url, nodes, network, settleMs: 60_000 });
    assert.deepEqual([settled.problems, settled.silent], [[], []], `${renderBalanceSheet(settled).join('\n')}\n${lines.join('\n')}`);
    const book = await readBook(nodes, network);
    const chain = await readChain(fed.devchain.url);
    const s = balanceSheet(chain.txs, book, chain.tipHeight);
    out(renderBalanceSheet(s).join('\n'));
    t.diagnostic(`${deposited.length} transfers, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const l of renderBalanceSheet(s)) t.diagnostic(l);
    const log = () => lines.join('\n');

    assert.deepEqual(s.problems, [], log());
    // What went in is what this test deposited, nothing else.
    const amounts = deposited.map((t) => BigInt(t.amountSats));
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
    assert.equal(s.depositsIn, sum(amounts), 'deposits in = what the test paid to the deposit addresses');
    // Every transfer paid once, for its amount less the transfer fee; nothing refunded or unexplained.
    assert.equal(s.transfersPaid, deposited.length);
    assert.equal(s.payouts, sum(amounts) - FEE * BigInt(deposited.length));
    assert.equal(s.transferFeesIn, FEE * BigInt(deposited.length));
    assert.deepEqual([s.refunds, s.unexplained, s.foreignIn], [0n, 0n, 0n]);
    // The balance sheet, to the satoshi.
    assert.equal(s.depositsIn, s.payouts + s.refunds + s.rewards + s.minerFees + s.held);
    // Rewards were paid, and never more than the transfer fees (less the miner fees) took in.
    assert.ok(s.rewards > 0n, `a reward output is on the chain\n${log()}`);
    assert.ok(s.rewards <= s.rewardPools && s.rewardPools <= s.transferFeesIn - s.minerFees, `rewards ${s.rewards} <= pools ${s.rewardPools} <= fees ${s.transferFeesIn} - miner fees ${s.minerFees}`);
    assert.ok(s.custodyTxs >= 2, 'a custody tx accrued and a later one paid');
    // What is held is what the devchain itself lists unspent at the vault and deposit addresses.
    const addresses = [key.vaultAddress, ...deposited.map((t) => t.depositAddress)];
    const utxos = (await Promise.all(addresses.map((a) => fed!.chain.getAddressUtxos(a)))).flat();
    assert.ok(utxos.every((u) => u.status.confirmed), 'nothing of the federation waits in the mempool');
    assert.equal(s.held, sum(utxos.map((u) => u.value)), 'held = the chain\'s unspent outputs at the federation\'s scripts');
    // All deposits were spent: what is held is the fees the vault kept (transfer fees less miner fees and rewards).
    assert.equal(s.held, s.transferFeesIn - s.minerFees - s.rewards);
    // Every node's ledger (checked above against the chain, per peer) reports the same total paid.
    for (const n of nodes) {
      const r = await n.api.get<RewardsView>('/v1/rewards');
      assert.equal(r.peers.reduce((a, p) => a + BigInt(p.paidSats), 0n), s.rewards, `${n.name}'s ledger`);
    }

    // The audit catches what it is for, on this run's real data: with the reward addresses
    // unknown, the reward outputs are unexplained; with a ledger off by one sat, that node is named.
    const blind = balanceSheet(chain.txs, { ...book, rewardScripts: new Map() }, chain.tipHeight);
    assert.equal(blind.unexplained, s.rewards);
    assert.ok(blind.problems.some((p) => /no federation script, payout, refund or reward address/.test(p)), blind.problems.join('\n'));
    const [peer, paid] = [...s.rewardsByPeer].find(([, v]) => v > 0n)!;
    const off = book.ledgers.map((l, i) => (i === 0 ? { ...l, paid: new Map([...l.paid, [peer, paid + 1n]]) } : l));
    const lying = balanceSheet(chain.txs, { ...book, ledgers: off }, chain.tipHeight);
    assert.deepEqual(lying.problems, [`${book.ledgers[0]!.node}: its ledger says ${peer} was paid ${paid + 1n} sats in blocks; the chain shows ${paid}`]);
    ok = true;
  } finally {
    if (fed) await fed.stop();
    assert.deepEqual(processesMentioning(dir), [], 'node processes outlived the test');
    if (!ok) console.log(lines.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  }
});
