// A throwaway single-key P2TR wallet for the devnet: it receives faucet coins and pays operator
// stakes, the way an operator's own wallet would on a real network. Never used outside regtest.
import * as btc from '@scure/btc-signer';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { btcNetwork } from '../chain/network.js';
import { buildStakeTx } from '../chain/stake.js';
import type { ChainSource } from '../chain/types.js';
import type { DevchainClient } from '../chain/devchain/client.js';

export interface DevWallet {
  address: string;
  scriptPubKey: string;
  /** Funds a fresh stake output committing to peerId and rewardAddress; returns its outpoint. */
  stake(args: { peerId: string; rewardAddress: string; amount: bigint }): Promise<{ txid: string; vout: number }>;
  /** Spends one of this wallet's outputs (e.g. a stake, "moving" it) to `to` (default: back to the wallet); returns the txid. */
  spend(outpoint: { txid: string; vout: number }, to?: string): Promise<string>;
}

export function randomTaprootAddress(): string {
  const pub = schnorr.getPublicKey(schnorr.utils.randomSecretKey());
  return btc.p2tr(pub, undefined, btcNetwork('regtest')).address!;
}

export function createDevWallet(faucet: DevchainClient, chain: ChainSource): DevWallet {
  const priv = schnorr.utils.randomSecretKey();
  const pay = btc.p2tr(schnorr.getPublicKey(priv), undefined, btcNetwork('regtest'));
  const address = pay.address!;
  const scriptPubKey = bytesToHex(pay.script);
  return {
    address,
    scriptPubKey,
    async stake({ peerId, rewardAddress, amount }) {
      const fee = 1_000n;
      const coin = await faucet.faucet(address, amount + fee + 10_000n);
      const tx = buildStakeTx({
        inputs: [{ txid: coin.txid, vout: coin.vout, value: amount + fee + 10_000n, scriptPubKey, tapInternalKey: pay.tapInternalKey }],
        stakeAddress: address,
        amount,
        peerId,
        rewardAddress,
        changeAddress: address,
        feeSats: fee,
        network: 'regtest',
      });
      tx.sign(priv);
      tx.finalize();
      const txid = await chain.broadcast(bytesToHex(tx.extract()));
      return { txid, vout: 0 };
    },
    async spend(outpoint, to = address) {
      const fee = 1_000n;
      const prev = await chain.getTx(outpoint.txid);
      const out = prev?.vout[outpoint.vout];
      if (!out) throw new Error(`output ${outpoint.txid}:${outpoint.vout} is unknown to the chain source`);
      if (out.scriptPubKey !== scriptPubKey) throw new Error(`output ${outpoint.txid}:${outpoint.vout} does not pay this wallet`);
      if (out.value <= fee + 546n) throw new Error(`output ${outpoint.txid}:${outpoint.vout} (${out.value} sats) is too small to spend`);
      const tx = new btc.Transaction();
      tx.addInput({ txid: hexToBytes(outpoint.txid), index: outpoint.vout, witnessUtxo: { amount: out.value, script: pay.script }, tapInternalKey: pay.tapInternalKey });
      tx.addOutputAddress(to, out.value - fee, btcNetwork('regtest'));
      tx.sign(priv);
      tx.finalize();
      return chain.broadcast(bytesToHex(tx.extract()));
    },
  };
}

