// What a node needs from Bitcoin, whatever answers it (Bitcoin Core RPC, Esplora, devchain).
// Every implementation validates what it receives and throws MetanodeError
// CHAIN_UNAVAILABLE (unreachable, retry later) or CHAIN_BAD_RESPONSE (malformed, never trusted).
export type Network = 'regtest' | 'testnet' | 'signet' | 'mainnet';

export interface Tip {
  height: number;
  hash: string; // hex, display order
  time: number; // block header time, unix seconds
}

export interface BlockHeader {
  hash: string;
  height: number;
  time: number; // unix seconds
  prevHash: string;
}

export interface TxStatus {
  confirmed: boolean;
  blockHeight?: number;
  blockHash?: string;
  blockTime?: number;
}

export interface TxOutput {
  value: bigint; // sats
  scriptPubKey: string; // hex
  address?: string;
}

export interface Tx {
  txid: string;
  hex: string; // raw serialized transaction
  status: TxStatus;
  vout: TxOutput[];
}

export interface Utxo {
  txid: string;
  vout: number;
  value: bigint;
  scriptPubKey: string; // hex
  status: TxStatus;
}

export interface OutSpend {
  spent: boolean;
  txid?: string; // spending tx
  status?: TxStatus;
}

/** An address to follow, and since when (unix seconds) outputs paying it may exist. */
export interface WatchRequest {
  address: string;
  since: number;
}

export interface ChainSource {
  readonly kind: 'bitcoind' | 'esplora';
  /**
   * Checks once, at start, that the source can serve this node (for Bitcoin Core: version,
   * network, pruning, its wallet); throws INVALID_CONFIG naming every missing piece. Absent when
   * there is nothing to check.
   */
  ready?(): Promise<void>;
  /**
   * For a source that follows addresses in an index of its own (Bitcoin Core's watch-only
   * wallet): the addresses getAddressUtxos will be asked about. Adds only those not followed
   * yet, so calling it again with the same addresses costs nothing. Absent when any address can
   * be asked about (Esplora).
   */
  watchAddresses?(list: WatchRequest[]): Promise<void>;
  getTip(): Promise<Tip>;
  getBlockHeaderByHeight(height: number): Promise<BlockHeader>;
  getBlockHeader(hash: string): Promise<BlockHeader>;
  /**
   * null when the chain source does not know the transaction. `unspentVout` names an output of
   * txid believed unspent: a source without a transaction index (Bitcoin Core without -txindex)
   * finds the confirmed transaction through it, and answers null when that output is not unspent.
   */
  getTx(txid: string, hint?: { unspentVout?: number }): Promise<Tx | null>;
  getOutSpend(txid: string, vout: number): Promise<OutSpend>;
  /** Unspent outputs paying to address, confirmed and (where the source knows) mempool. */
  getAddressUtxos(address: string): Promise<Utxo[]>;
  /** Returns the txid; throws TX_REJECTED with the source's reason. */
  broadcast(txHex: string): Promise<string>;
  /** sat/vB for confirmation within `targetBlocks`. */
  getFeeRate(targetBlocks?: number): Promise<number>;
}
