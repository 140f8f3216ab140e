import { bytesToHex } from '@noble/hashes/utils.js';
import type { Config } from '../../config/schema.js';
import type { ChainSource } from '../../chain/types.js';
import { inspectKeystore } from '../../keystore/index.js';
import { errorMessage, MetanodeError } from '../../util/errors.js';
import type { ApiClient } from '../client.js';
import type { StatusJson } from '../json-types.js';

export interface StakeOptions {
  /** Reward address to commit to; with it the result includes how to create the stake. */
  reward?: string;
  /** Address that will hold the stake output (yours); default a placeholder in the steps. */
  stakeAddress?: string;
  /** Stake amount in sats; default stake.minSats. */
  amountSats?: bigint;
  /** Verify the configured stake against the chain source directly (not through the node). */
  check?: boolean;
}

export interface StakeResult {
  peerId: string;
  network: string;
  minSats: string;
  minAgeHours: number;
  outpoint: { txid: string; vout: number } | null;
  /** Verdict on the configured stake: from the chain (--check) or from the running node. */
  status: { source: 'chain' | 'node'; valid: boolean; reason?: string; detail?: string; height?: number; amountSats?: string; rewardAddress?: string } | null;
  statusError?: string;
  howTo: { opReturnScript: string; dataHex: string; amountSats: string; steps: string[] } | null;
}

function btcString(sats: bigint): string {
  const whole = sats / 100_000_000n;
  const frac = (sats % 100_000_000n).toString().padStart(8, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

export function chainSourceFromConfig(config: Config): Promise<ChainSource> {
  return (async () => {
    if (config.chain.source === 'esplora') {
      const { EsploraChainSource } = await import('../../chain/esplora.js');
      return new EsploraChainSource({ baseUrl: config.chain.esploraUrl!, network: config.network });
    }
    const { BitcoindChainSource } = await import('../../chain/bitcoind.js');
    const b = config.chain.bitcoind;
    return new BitcoindChainSource({ url: b.url!, network: config.network, user: b.user, password: b.password, cookieFile: b.cookieFile, wallet: b.wallet });
  })();
}

/** `metanode stake`: this node's stake, whether it is valid, and how to create one. */
export async function stakeCommand(
  config: Config,
  opts: StakeOptions = {},
  deps: { client?: ApiClient; chain?: ChainSource } = {},
): Promise<StakeResult> {
  const { peerId } = inspectKeystore(config.keystore.dir);
  if (!peerId) throw new MetanodeError('KEYSTORE', `no identity in ${config.keystore.dir}; run \`metanode init\` first`);
  const stake = await import('../../chain/stake.js');
  const outpoint = config.stake.txid !== undefined && config.stake.vout !== undefined ? { txid: config.stake.txid, vout: config.stake.vout } : null;
  const result: StakeResult = {
    peerId,
    network: config.network,
    minSats: config.stake.minSats.toString(),
    minAgeHours: config.stake.minAgeHours,
    outpoint,
    status: null,
    howTo: null,
  };
  if (outpoint && opts.check) {
    try {
      const chain = deps.chain ?? (await chainSourceFromConfig(config));
      const v = await stake.verifyStake(chain, { outpoint, peerId, minSats: config.stake.minSats, minAgeSeconds: Math.round(config.stake.minAgeHours * 3600), network: config.network });
      result.status = v.valid
        ? { source: 'chain', valid: true, height: v.seniority.height, amountSats: v.amount.toString(), rewardAddress: v.rewardAddress }
        : { source: 'chain', valid: false, reason: v.reason, detail: v.detail };
    } catch (e) {
      result.statusError = errorMessage(e);
    }
  } else if (outpoint && deps.client) {
    try {
      const s = await deps.client.get<StatusJson>('/v1/status');
      if (s.stake) result.status = { source: 'node', valid: s.stake.valid, ...(s.stake.reason ? { reason: s.stake.reason } : {}) };
    } catch (e) {
      result.statusError = errorMessage(e);
    }
  }
  if (opts.reward) {
    const amount = opts.amountSats ?? config.stake.minSats;
    if (amount < config.stake.minSats) throw new MetanodeError('INVALID_INPUT', `stake amount ${amount} is below stake.minSats ${config.stake.minSats}`);
    const script = stake.stakeOpReturn(peerId, opts.reward, config.network);
    // bitcoin-cli's {"data": hex} output takes the pushed bytes; strip OP_RETURN and the push opcode.
    const data = script[1] === 0x4c ? script.slice(3) : script.slice(2);
    const addr = opts.stakeAddress ?? '<your stake address>';
    const net = config.network === 'mainnet' ? '' : ` -${config.network === 'testnet' ? 'testnet' : config.network}`;
    result.howTo = {
      opReturnScript: bytesToHex(script),
      dataHex: bytesToHex(data),
      amountSats: amount.toString(),
      steps: [
        `bitcoin-cli${net} -named createrawtransaction inputs='[]' outputs='[{"${addr}": ${btcString(amount)}}, {"data": "${bytesToHex(data)}"}]'`,
        `bitcoin-cli${net} -named fundrawtransaction hexstring=<hex from step 1> options='{"changePosition": 2}'`,
        `bitcoin-cli${net} signrawtransactionwithwallet <hex from step 2>, then sendrawtransaction <signed hex>`,
        `put the txid in the config: stake.txid: <txid>, stake.vout: 0 (the stake must be output 0)`,
        `the stake counts once its block is ${config.stake.minAgeHours} h old and as long as output 0 stays unspent`,
      ],
    };
  }
  return result;
}

export function renderStake(r: StakeResult): string {
  const lines = [
    `peer id:   ${r.peerId}`,
    `network:   ${r.network}`,
    `minimum:   ${r.minSats} sats, ${r.minAgeHours} h old`,
    `stake:     ${r.outpoint ? `${r.outpoint.txid}:${r.outpoint.vout}` : '(none configured: set stake.txid and stake.vout)'}`,
  ];
  if (r.status)
    lines.push(
      `status:    ${r.status.valid ? `valid${r.status.height !== undefined ? ` (height ${r.status.height}, ${r.status.amountSats} sats, reward to ${r.status.rewardAddress})` : ''}` : `INVALID: ${r.status.reason ?? ''}${r.status.detail ? ` (${r.status.detail})` : ''}`} [${r.status.source}]`,
    );
  else if (r.statusError) lines.push(`status:    unknown (${r.statusError})`);
  if (r.howTo) lines.push('', `To stake ${r.howTo.amountSats} sats for this peer id:`, ...r.howTo.steps.map((s, i) => `  ${i + 1}. ${s}`));
  else if (!r.outpoint) lines.push('', 'Run `metanode stake --reward <address>` to see how to create a stake.');
  return lines.join('\n');
}
