// The audit's readers (src/devnet/audit.ts) against an in-process devchain and stand-in node
// APIs: the chain walk gives input values from the outputs it saw, the book merges what the nodes
// answer and lists the ones that do not, and a spend of a federation coin to nobody's script is
// named on a real chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { createChainSource } from '../../src/chain/factory.js';
import { addressToScript } from '../../src/chain/network.js';
import type { ApiClient } from '../../src/cli/client.js';
import { auditFederation, readBook, readChain } from '../../src/devnet/audit.js';
import { createDevWallet, randomTaprootAddress } from '../../src/devnet/wallet.js';

function api(answers: Record<string, unknown>): ApiClient {
  return {
    baseUrl: 'http://127.0.0.1:1',
    get: async <T,>(path: string) => {
      if (!(path in answers)) throw new Error(`no route ${path}`);
      return answers[path] as T;
    },
    post: async () => {
      throw new Error('read only');
    },
  };
}

test('audit on a real chain: the walk reads input values itself; a vault coin spent to nobody is named; a silent node is listed', async () => {
  const dc = await startDevchain({ network: 'regtest' });
  try {
    const faucet = new DevchainClient(dc.url);
    const wallet = createDevWallet(faucet, createChainSource({ kind: 'devchain', url: dc.url, network: 'regtest' }));
    const coin = await faucet.faucet(wallet.address, 100_000n);
    await faucet.mine(1);
    const elsewhere = randomTaprootAddress();
    const spendTxid = await wallet.spend({ txid: coin.txid, vout: coin.vout }, elsewhere);
    await faucet.mine(1);

    const { tipHeight, txs } = await readChain(dc.url);
    assert.equal(tipHeight, dc.chain.height());
    const spend = txs.find((t) => t.txid === spendTxid)!;
    assert.deepEqual(spend.inputs, [{ txid: coin.txid, vout: coin.vout, prevout: { script: wallet.scriptPubKey, value: 100_000n } }]);
    assert.deepEqual(txs.find((t) => t.txid === coin.txid)!.inputs.map((i) => i.prevout), [null], 'a faucet input spends nothing');

    // The wallet's script stands for a vault: one node reports it, one does not answer.
    const good = api({
      '/v1/transfers': [],
      '/v1/epochs': { epochs: [{ record: { vaultAddress: wallet.address, committee: [{ peerId: 'P1', rewardAddress: randomTaprootAddress() }] } }] },
      '/v1/rewards': { transferFeeSats: '2000', complete: true, peers: [] },
    });
    const nodes = [{ name: 'node-1', api: good }, { name: 'node-2', api: api({}) }];
    const book = await readBook(nodes, 'regtest');
    assert.deepEqual([...book.vaultScripts], [wallet.scriptPubKey]);
    assert.equal(book.transferFee, 2_000n);
    assert.equal(book.silent.length, 1);
    assert.match(book.silent[0]!, /^node-2: no route/);

    const sheet = await auditFederation({ esploraUrl: dc.url, nodes, network: 'regtest' });
    assert.deepEqual([sheet.depositsIn, sheet.unexplained, sheet.minerFees, sheet.held, sheet.custodyTxs], [100_000n, 99_000n, 1_000n, 0n, 1]);
    assert.deepEqual(sheet.problems, [`output ${spendTxid}:0 (99000 sats) of custody tx ${spendTxid} pays ${addressToScript(elsewhere, 'regtest')}, which is no federation script, payout, refund or reward address`]);

    await assert.rejects(readBook([{ name: 'node-2', api: api({}) }], 'regtest'), /no node answered: node-2: no route/);
    const odd = api({ '/v1/transfers': {}, '/v1/epochs': { epochs: [] }, '/v1/rewards': { transferFeeSats: '2000', complete: true, peers: [] } });
    await assert.rejects(readBook([{ name: 'node-3', api: odd }], 'regtest'), /node-3: .*answered something else than the API's shape/);
  } finally {
    await dc.close();
  }
});
