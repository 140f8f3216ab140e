// Typed client for the devchain's /dev/* endpoints, for tests and the devnet.
import { z } from 'zod';
import { MetanodeError } from '../../util/errors.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const mineRes = z.object({ hashes: z.array(hex64), height: z.number().int() });
const faucetRes = z.object({ txid: hex64, vout: z.number().int(), hex: z.string() });
const clockRes = z.object({ now: z.number().int() });
const reorgRes = z.object({
  disconnected: z.array(hex64),
  connected: z.array(hex64),
  returnedToMempool: z.array(hex64),
  dropped: z.array(hex64),
  height: z.number().int(),
});
const utxosRes = z.object({
  height: z.number().int(),
  utxos: z.array(
    z.object({
      txid: hex64,
      vout: z.number().int(),
      value: z.string().regex(/^[0-9]+$/),
      scriptPubKey: z.string(),
      address: z.string().nullable(),
      confirmed: z.boolean(),
      height: z.number().int().nullable(),
      coinbase: z.boolean(),
    }),
  ),
});

export interface DevUtxo {
  txid: string;
  vout: number;
  value: bigint;
  scriptPubKey: string;
  address: string | null;
  confirmed: boolean;
  height: number | null;
  coinbase: boolean;
}

export class DevchainClient {
  constructor(readonly url: string, private readonly timeoutMs = 10_000) {}

  private async call<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new MetanodeError('CHAIN_UNAVAILABLE', `devchain ${path}: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new MetanodeError('INVALID_INPUT', `devchain ${path}: HTTP ${res.status}: ${text}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `devchain ${path}: not JSON`);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw new MetanodeError('CHAIN_BAD_RESPONSE', `devchain ${path}: unexpected reply shape`);
    return r.data;
  }

  /** Mines `blocks` blocks (mempool included), coinbase to `address` if given. */
  mine(blocks = 1, address?: string): Promise<{ hashes: string[]; height: number }> {
    return this.call('POST', '/dev/mine', mineRes, address === undefined ? { blocks } : { blocks, address });
  }

  /** Funds `address` with `sats` in a new mempool transaction; output `vout` of `txid`. */
  faucet(address: string, sats: bigint): Promise<{ txid: string; vout: number; hex: string }> {
    return this.call('POST', '/dev/faucet', faucetRes, { address, sats: sats.toString() });
  }

  /** Moves the simulated clock forward; the next block's time follows it. */
  async advanceClock(seconds: number): Promise<number> {
    return (await this.call('POST', '/dev/clock', clockRes, { advanceSeconds: seconds })).now;
  }

  /** Disconnects the last `depth` blocks; `dropTxs` forgets their transactions, `drop` only these. */
  reorg(depth: number, opts: { dropTxs?: boolean; drop?: string[] } = {}): Promise<z.infer<typeof reorgRes>> {
    return this.call('POST', '/dev/reorg', reorgRes, { depth, ...(opts.dropTxs === undefined ? {} : { dropTxs: opts.dropTxs }), ...(opts.drop === undefined ? {} : { drop: opts.drop }) });
  }

  async utxos(): Promise<{ height: number; utxos: DevUtxo[] }> {
    const r = await this.call('GET', '/dev/utxos', utxosRes);
    return { height: r.height, utxos: r.utxos.map((u) => ({ ...u, value: BigInt(u.value) })) };
  }
}
