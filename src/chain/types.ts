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

export interface ChainSource {
  readonly kind: 'bitcoind' | 'esplora';
  getTip(): Promise<Tip>;
  getBlockHeaderByHeight(height: number): Promise<BlockHeader>;
  getBlockHeader(hash: string): Promise<BlockHeader>;
  /** null when the chain source does not know the transaction. */
  getTx(txid: string): Promise<Tx | null>;
  getOutSpend(txid: string, vout: number): Promise<OutSpend>;
  /** Unspent outputs paying to address, confirmed and (where the source knows) mempool. */
  getAddressUtxos(address: string): Promise<Utxo[]>;
  /** Returns the txid; throws TX_REJECTED with the source's reason. */
  broadcast(txHex: string): Promise<string>;
  /** sat/vB for confirmation within `targetBlocks`. */
  getFeeRate(targetBlocks?: number): Promise<number>;
}
