// Shared fixtures for transfer-request tests: valid regtest addresses and a deterministic
// stand-in for the epoch key's deposit tweak (a P2WSH address from sha256(epoch|id)).
import * as btc from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import type { PrivateKey } from '@libp2p/interface';
import { openDb } from '../../src/store/db.js';
import { RequestStore, requestMigrations } from '../../src/custody/requests.js';

export const REGTEST = { ...btc.TEST_NETWORK, bech32: 'bcrt' };
const te = new TextEncoder();

export function wpkhAddress(seed: string): string {
  return btc.Address(REGTEST).encode({ type: 'wpkh', hash: sha256(te.encode(seed)).subarray(0, 20) });
}

export function fakeDepositAddressFor(knownEpochs: number[] = [0]) {
  return (id: string, epoch: number): string | undefined =>
    knownEpochs.includes(epoch) ? btc.Address(REGTEST).encode({ type: 'wsh', hash: sha256(te.encode(`${epoch}|${id}`)) }) : undefined;
}

export function makeStore(signer: { peerId: string; privateKey: PrivateKey } | undefined, over: Partial<ConstructorParameters<typeof RequestStore>[0]> = {}) {
  const db = openDb(':memory:', requestMigrations);
  return new RequestStore({ db, network: 'regtest', depositAddressFor: fakeDepositAddressFor(), currentEpoch: () => 0, signer, ...over });
}

export function input(n: number) {
  return { amountSats: 50_000n + BigInt(n), payoutAddress: wpkhAddress(`pay${n}`), refundAddress: wpkhAddress(`refund${n}`), expiry: Math.floor(Date.now() / 1000) + 86400 };
}
