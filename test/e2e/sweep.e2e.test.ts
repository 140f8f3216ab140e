// DESIGN §4: while keygen epochs replace the vault key, funds left at an earlier epoch's vault
// are swept to the current vault by the next custody round, and the earlier epoch's shares are
// destroyed only once nothing is left at its addresses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFederation, waitFor, epochOf, type Federation } from './harness.js';
import { scriptPubKeyFor, vaultAddress } from '../../src/crypto/taproot.js';

let fed: Federation | undefined;
after(async () => {
  await fed?.stop();
});

test('funds at an earlier epoch vault are swept to the current vault, then that epoch is retired', { timeout: 150_000 }, async () => {
  fed = await startFederation({ n: 4, keygen: '*/8 * * * * *', keygenUntilMs: 34_000 });
  const f = fed;
  const first = await waitFor(async () => {
    const eps = await Promise.all(f.nodes.map(epochOf));
    return eps.every((e) => e && e.epoch === eps[0]!.epoch && e.hasShare) ? eps[0]! : undefined;
  }, 40_000, 'first epoch on every node');
  const coin = await f.faucet.faucet(first.vault, 150_000n);

  const final = await waitFor(async () => {
    const eps = await Promise.all(f.nodes.map(epochOf));
    const same = eps.every((e) => e && e.epoch === eps[0]!.epoch);
    return same && Date.now() > f.keygenUntil.getTime() + 2_000 && eps[0]!.epoch > first.epoch ? eps[0]! : undefined;
  }, 60_000, 'a later epoch locked in on every node');
  assert.notEqual(final.vault, first.vault, 'keygen replaced the vault key');

  // Keygen may have run more than once after the coin arrived: the funds hop vault to vault
  // until they rest at the vault of the locked-in key.
  const n1 = f.nodes[0]!.running!.ctx;
  const current = n1.manager.current()!;
  assert.equal(vaultAddress(current.key), final.vault);
  const rest = await waitFor(async () => {
    const utxos = await f.chain.getAddressUtxos(final.vault);
    return utxos.find((u) => u.status.confirmed && u.value > 140_000n);
  }, 60_000, 'the swept funds confirmed at the current vault');
  assert.equal(rest.scriptPubKey, scriptPubKeyFor(current.key));
  assert.ok(rest.value < 150_000n, 'the miner fee was paid from the swept coin (a sweep pays no reward)');
  assert.equal((await f.chain.getOutSpend(coin.txid, coin.vout)).spent, true, 'the earlier vault coin is spent');

  await waitFor(async () => {
    for (const node of f.nodes) {
      for (const e of node.running!.ctx.manager.store.all()) {
        if (e.record.epoch >= current.record.epoch) continue;
        if (e.status !== 'retired') return undefined;
        if ((await node.running!.ctx.manager.loadShare(e.record.epoch)) !== null) return undefined;
      }
    }
    return true;
  }, 30_000, 'every emptied earlier epoch retired (shares destroyed) on every node');
});
