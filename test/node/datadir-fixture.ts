// A stopped node's data directory with something in every table the operator reads: peers and a
// blocked peer, a completed and an aborted round with their steps, an epoch key, a transfer
// request (signed by a real identity) with its deposit and a custody tx confirming it, written
// through the real stores.
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { openDb } from '../../src/store/db.js';
import { nodeMigrations } from '../../src/node/migrations.js';
import { PeerTable } from '../../src/p2p/peer-table.js';
import { Blocklist } from '../../src/p2p/blocklist.js';
import { appendLogs, finishRound, startRound } from '../../src/rounds/roundlog.js';
import { EpochStore } from '../../src/epochs/store.js';
import { RequestStore } from '../../src/custody/requests.js';
import { DepositWatcher } from '../../src/custody/deposits.js';
import { markConfirmed, recordBroadcast, trackTransfer } from '../../src/custody/transfers.js';
import { depositAddress } from '../../src/crypto/taproot.js';
import type { ChainSource } from '../../src/chain/types.js';
import type { TransferRequest } from '../../src/custody/requests-schema.js';
import { EPOCHS, PAYOUT, PEER_A, PEER_B, PEER_C } from '../api/fake-node.js';

/** A valid regtest P2WPKH address (hash 0x07 * 20). */
export const REFUND_ADDR = 'bcrt1qqurswpc8qurswpc8qurswpc8qurswpc8dxm0gk';

export const NOW = 1_700_000_100_000;
export const ROUND_OK = 28_333_334;
export const ROUND_ABORTED = 28_333_333;
export const EPOCH = EPOCHS.epochs[0]!;
export const DEPOSIT_TXID = '12'.repeat(32);
export const CUSTODY_TXID = 'ef'.repeat(32);

export interface Fixture {
  dbPath: string;
  request: TransferRequest;
  origin: string;
}

export async function writeNodeData(dataDir: string): Promise<Fixture> {
  const dbPath = join(dataDir, 'node.sqlite');
  const db = openDb(dbPath, nodeMigrations);
  try {
    const table = new PeerTable(db);
    const peer = (peerId: string, height: number, state: 'idle' | 'signing') => ({
      peerId,
      seniority: { height, txid: 'cd'.repeat(32) },
      stakeOutpoint: `${'cd'.repeat(32)}:${height}`,
      amount: 2_000_000n + BigInt(height),
      rewardAddress: PAYOUT,
      state,
      lastSeen: NOW - 1000 * height,
      firstSeen: NOW - 60_000,
      clockOffsetMs: 3,
      tip: 321,
      epoch: 2,
      round: ROUND_OK,
      hasProof: true,
    });
    table.upsert(peer(PEER_A, 100, 'idle'));
    table.upsert(peer(PEER_B, 101, 'signing'));
    // Blocked for 72 h from the real clock: readers judge expiry against now.
    new Blocklist(db).block(PEER_C, 'invalid-ping', 'bad signature', 72);

    startRound(db, ROUND_ABORTED, NOW - 60_000);
    appendLogs(db, [
      { roundId: ROUND_ABORTED, phase: 'proposal', time: NOW - 59_900, peer: PEER_B, decision: 'accept' },
      { roundId: ROUND_ABORTED, phase: 'checksum', time: NOW - 59_000, peer: PEER_C, decision: 'culprit', reason: 'checksum outlier', culprits: [PEER_C] },
    ]);
    finishRound(db, ROUND_ABORTED, { status: 'aborted', endedAt: NOW - 58_000, reason: 'checksum mismatch', culprits: [PEER_C] });
    startRound(db, ROUND_OK, NOW - 10_000);
    appendLogs(db, [
      { roundId: ROUND_OK, phase: 'proposal', time: NOW - 9_900, peer: PEER_B, decision: 'accept' },
      { roundId: ROUND_OK, phase: 'signing-set', time: NOW - 9_000, peer: PEER_A, decision: 'decided', reason: 'first t by seniority' },
      { roundId: ROUND_OK, phase: 'broadcast', time: NOW - 8_000, decision: 'complete' },
    ]);
    finishRound(db, ROUND_OK, { status: 'completed', endedAt: NOW - 8_000, txid: 'ef'.repeat(32), thresholdSet: [PEER_A, PEER_B] });

    new EpochStore(db).adopt({ record: EPOCH.record, signatures: EPOCH.signatures, key: EPOCH.key, status: 'locked', hasShare: false, retire: [], at: NOW - 100_000 });

    const privateKey = (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
    const origin = peerIdFromPrivateKey(privateKey as never).toString();
    const requests = new RequestStore({
      db,
      network: 'regtest',
      signer: { peerId: origin, privateKey },
      currentEpoch: () => EPOCH.record.epoch,
      depositAddressFor: (id, epoch) => (epoch === EPOCH.key.epoch ? depositAddress(EPOCH.key, id) : undefined),
      now: () => NOW - 5_000,
    });
    const request = await requests.create({ amountSats: 150_000n, payoutAddress: PAYOUT, refundAddress: REFUND_ADDR, expiry: Math.floor(NOW / 1000) + 86_400 });
    trackTransfer(db, request.id, NOW - 4_000);
    // Paid by a custody tx in block 322, one confirmation: 'confirmed', not yet 'paid'.
    recordBroadcast(db, { txid: CUSTODY_TXID, roundId: ROUND_OK, hex: '00', inputs: [{ txid: DEPOSIT_TXID, vout: 0 }], transferIds: [request.id], feeRate: 2, height: 321, now: NOW - 3_500 });
    markConfirmed(db, CUSTODY_TXID, { height: 322, hash: '77'.repeat(32) }, NOW - 3_400);

    const tip = { height: 322, hash: '77'.repeat(32), time: Math.floor(NOW / 1000) };
    const chain = {
      kind: 'esplora',
      getTip: async () => tip,
      getBlockHeaderByHeight: async () => ({ hash: '66'.repeat(32) }),
      getAddressUtxos: async (a: string) =>
        a === request.depositAddress ? [{ txid: DEPOSIT_TXID, vout: 0, value: 152_000n, scriptPubKey: '5120' + '88'.repeat(32), status: { confirmed: true, blockHeight: 322, blockHash: tip.hash } }] : [],
      getTx: async () => null,
    } as unknown as ChainSource;
    const watcher = new DepositWatcher({ chain, db, minConfirmations: 1, now: () => NOW - 3_000 });
    watcher.watch(request.depositAddress, { kind: 'deposit', requestId: request.id, epoch: request.epoch });
    await watcher.poll();
    return { dbPath, request, origin };
  } finally {
    db.close();
  }
}
