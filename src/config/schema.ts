// The node's configuration: one zod schema that is both the validator and the source of every
// default. Sections are strict objects so a misspelt key is an error, not a silent default.
import { z } from 'zod';
import { multiaddr } from '@multiformats/multiaddr';
import cron from 'node-cron';
import { isLoopbackHost } from './loopback.js';
import { cronPeriodMs } from '../rounds/round-clock.js';
import { errorMessage } from '../util/errors.js';
import { LOG_FORMATS } from '../util/log.js';

export const NETWORKS = ['regtest', 'testnet', 'signet', 'mainnet'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** scrypt cost used for real keys; tests and the devnet may lower it, mainnet may not. */
export const SCRYPT_N_DEFAULT = 1 << 15;
export const SCRYPT_N_MIN = 1 << 10;

const int = (min: number, max = Number.MAX_SAFE_INTEGER, belowMin = `must be >= ${min}`) =>
  z
    .number({ error: (iss) => `expected an integer, got ${describe(iss.input)}` })
    .int({ error: (iss) => `expected an integer, got ${describe(iss.input)}` })
    .min(min, { error: belowMin })
    .max(max, { error: `must be <= ${max}` });

const num = (min: number, max = Number.MAX_VALUE) =>
  z
    .number({ error: (iss) => `expected a number, got ${describe(iss.input)}` })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });

const str = () => z.string({ error: (iss) => `expected a string, got ${describe(iss.input)}` });

/** Satoshi amounts: YAML gives numbers, env gives strings; both become bigint. */
const sats = () =>
  z
    .union([z.bigint(), z.number(), z.string()], { error: (iss) => `expected an amount in sats, got ${describe(iss.input)}` })
    .transform((v, ctx) => {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number of sats, got ${v}` });
        return z.NEVER;
      }
      if (typeof v === 'string' && !/^\d+$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number of sats, got "${v}"` });
        return z.NEVER;
      }
      const b = BigInt(v);
      if (b < 0n || b > 2_100_000_000_000_000n) {
        ctx.addIssue({ code: 'custom', message: `amount out of range: ${b}` });
        return z.NEVER;
      }
      return b;
    });

const httpUrl = () =>
  str().refine(
    (s) => {
      try {
        const u = new URL(s);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: (iss) => `invalid http(s) URL ${describe(iss.input)}` },
  );

function maddr(kind: 'listen' | 'announce' | 'bootstrap') {
  return str().superRefine((s, ctx) => {
    let protos: string[];
    try {
      protos = multiaddr(s).protoNames();
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid multiaddr "${s}"` });
      return;
    }
    if (!protos.includes('tcp')) ctx.addIssue({ code: 'custom', message: `multiaddr "${s}" has no /tcp/ part` });
    if (kind === 'bootstrap' && !protos.includes('p2p'))
      ctx.addIssue({ code: 'custom', message: `bootstrap multiaddr "${s}" must end with /p2p/<peer id>` });
  });
}

const cronExpr = () =>
  str().refine((s) => cron.validate(s), { error: (iss) => `invalid cron expression ${describe(iss.input)}` });

const isoDate = () =>
  str()
    .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), {
      error: (iss) => `invalid ISO date ${describe(iss.input)}`,
    })
    .transform((s) => new Date(s));

const hex64 = () => str().regex(/^[0-9a-f]{64}$/, { error: (iss) => `expected a 64-char lowercase hex txid, got ${describe(iss.input)}` });

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 77) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}

const keystoreSchema = z
  .strictObject({
    /** Directory of encrypted key files; default <dataDir>/keys. */
    dir: str().optional(),
    /** File holding the passphrase (mode 0600). Exclusive with passphraseEnv. */
    passphraseFile: str().optional(),
    /** Environment variable holding the passphrase; default METANODE_PASSPHRASE. */
    passphraseEnv: str().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }).optional(),
    scryptN: int(SCRYPT_N_MIN, 1 << 20)
      .refine((n) => (n & (n - 1)) === 0, { error: 'must be a power of two' })
      .default(SCRYPT_N_DEFAULT),
  })
  .refine((k) => !(k.passphraseFile && k.passphraseEnv), {
    error: 'set passphraseFile or passphraseEnv, not both',
  });

const chainSchema = z
  .strictObject({
    source: z.enum(['esplora', 'bitcoind'], { error: (iss) => `expected "esplora" or "bitcoind", got ${describe(iss.input)}` }).default('esplora'),
    esploraUrl: httpUrl().optional(),
    bitcoind: z
      .strictObject({
        url: httpUrl().optional(),
        user: str().optional(),
        password: str().optional(),
        cookieFile: str().optional(),
        /** The node's watch-only descriptor wallet in Core, created at start if absent. */
        wallet: str()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 of A-Z a-z 0-9 . _ -' })
          .default('metanode'),
      })
      .prefault({}),
    pollMs: int(100, 600_000).default(5_000),
    /**
     * While the tip stays the same, how often (ms) the deposit watcher re-reads every watched
     * address for mempool-only changes (an unconfirmed deposit, a mempool spend, an evicted tx);
     * a new block or a reorg re-reads them at once whatever this says, and a newly watched
     * address is read on the next poll. 10 s: nothing a round builds uses mempool state
     * (candidates spend deposits confirmed at the anchor; our own spends are locked in the
     * database; payments are learnt from confirmed spenders), so this only delays what the API
     * shows for unconfirmed deposits, by about the time an Esplora needs to index a
     * transaction anyway, while a 100-address federation node polling every 300 ms reads 600
     * addresses a minute instead of 20 000. 0 = every poll. Raise it against a rate-limited
     * public Esplora.
     */
    mempoolRescanMs: int(0, 3_600_000).default(10_000),
  })
  .superRefine((c, ctx) => {
    if (c.source === 'esplora' && !c.esploraUrl)
      ctx.addIssue({ code: 'custom', path: ['esploraUrl'], message: 'required when chain.source is "esplora"' });
    if (c.source === 'bitcoind') {
      if (!c.bitcoind.url) ctx.addIssue({ code: 'custom', path: ['bitcoind', 'url'], message: 'required when chain.source is "bitcoind"' });
      const hasUserPass = c.bitcoind.user !== undefined || c.bitcoind.password !== undefined;
      if (hasUserPass && c.bitcoind.cookieFile)
        ctx.addIssue({ code: 'custom', path: ['bitcoind'], message: 'use user/password or cookieFile, not both' });
      if (!hasUserPass && !c.bitcoind.cookieFile)
        ctx.addIssue({ code: 'custom', path: ['bitcoind'], message: 'needs user and password, or cookieFile' });
      if (hasUserPass && (c.bitcoind.user === undefined || c.bitcoind.password === undefined))
        ctx.addIssue({ code: 'custom', path: ['bitcoind'], message: 'user and password must be set together' });
    }
  });

const stakeSchema = z
  .strictObject({
    txid: hex64().optional(),
    vout: int(0, 100_000).optional(),
    minSats: sats().default(1_000_000n),
    minAgeHours: num(0, 24 * 365).default(72),
  })
  .refine((s) => (s.txid === undefined) === (s.vout === undefined), { error: 'txid and vout must be set together' });

const p2pSchema = z
  .strictObject({
    listen: z.array(maddr('listen')).default(['/ip4/0.0.0.0/tcp/4001']),
    announce: z.array(maddr('announce')).default([]),
    bootstrap: z.array(maddr('bootstrap')).default([]),
    bootstrapGraceMs: int(0, 3_600_000).default(30_000),
    pingIntervalMs: int(100, 600_000).default(3_000),
    /** Doppelganger protection: ping intervals to listen for our own peer id before pinging or signing; 0 = off. */
    doppelgangerIntervals: int(0, 100).default(3),
    peerTimeoutMs: int(100, 3_600_000).default(10_000),
    maxConnections: int(1, 10_000).default(64),
    // Gossip accepted per direct peer and topic (token bucket); the excess is dropped unrelayed
    // and lowers that peer's gossipsub score.
    gossipRatePerSec: int(1, 1_000_000).default(100),
    gossipBurst: int(1, 10_000_000).default(1_000),
  })
  .refine((p) => p.peerTimeoutMs > p.pingIntervalMs, { error: 'peerTimeoutMs must be larger than pingIntervalMs', path: ['peerTimeoutMs'] });

const committeeSchema = z
  .strictObject({
    max: int(1, 1000).default(15),
    /** Fixed threshold; when absent, floor(2n/3)+1 of the actual committee size n (crypto/identifiers defaultThreshold). */
    threshold: int(1, 1000).optional(),
  })
  .refine((c) => c.threshold === undefined || c.threshold <= c.max, { error: 'threshold must not exceed max', path: ['threshold'] });

const scheduleSchema = z.strictObject({
  /** 5 or 6 fields (6 = with seconds). */
  signing: cronExpr()
    .superRefine((s, ctx) => {
      if (!cron.validate(s)) return;
      try {
        cronPeriodMs(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: errorMessage(e).replace(/^INVALID_CONFIG: schedule\.signing /, '') });
      }
    })
    .default('0 * * * * *'),
  keygen: cronExpr().default('*/5 * * * *'),
  regroup: cronExpr().default('0 0 * * *'),
  /** Keygen epochs run while now < keygenUntil; absent = no date limit. */
  keygenUntil: isoDate().optional(),
  timezone: str().default('UTC'),
});

const custodySchema = z
  .strictObject({
    // Rounds only ever spend deposits that are in a block, so 0 would read as "mempool deposits
    // are confirmed" while meaning 1; the deposit watcher refuses it, so the config does too.
    minConfirmations: int(1, 1000, 'must be >= 1: a deposit counts only once it is in a block').default(3),
    bumpAfterBlocks: int(1, 1000).default(3),
    feeRateMin: num(0.1, 100_000).default(1),
    feeRateMax: num(0.1, 100_000).default(500),
    // Deprecated and ignored: rewards now come from the transfer fees (src/custody/rewards.ts).
    // Still accepted so existing config files load.
    rewardSats: sats().optional(),
    // A peer's accrued reward is paid, whole, once it reaches this; above the P2TR dust limit.
    rewardMinPayoutSats: sats()
      .refine((v) => v > 330n, { error: 'must be > 330 (the P2TR dust limit): a reward output below dust cannot be relayed' })
      .default(10_000n),
    transferFeeSats: sats().default(2_000n),
    replicationDelayMs: int(0, 3_600_000).default(10_000),
    // An expired request's deposit address stays watched for requests.retainHours (a late deposit
    // is refunded) but is read at one block in this many, not at every block; a late deposit
    // counts in a round once that block is reached (src/custody/late-deposits.ts). Every node of a
    // federation must use the same value, like minConfirmations. 6: about an hour on mainnet.
    lateDepositEveryBlocks: int(1, 10_000).default(6),
    // Confirmations before a custody transaction is final and its transfers read 'paid' (before:
    // 'confirmed', and a reorg takes them back). Default per network: FINALITY_DEPTH_DEFAULT.
    finalityDepth: int(1, 1000, 'must be >= 1: a payout is final at the earliest once it is in a block').optional(),
  })
  .refine((c) => c.feeRateMin <= c.feeRateMax, { error: 'feeRateMin must not exceed feeRateMax', path: ['feeRateMin'] });

/** custody.finalityDepth when the config leaves it out: reorgs of 1-2 blocks happen on mainnet, deeper ones on test networks. */
export const FINALITY_DEPTH_DEFAULT: Record<(typeof NETWORKS)[number], number> = { mainnet: 6, testnet: 6, signet: 6, regtest: 2 };

// Per-origin quotas on transfer requests, and how long a request stays after it expires or is
// paid. Every node of a federation should use the same values: a record over the hourly quota
// is refused (without blame) by the nodes that count it so.
const requestsSchema = z.strictObject({
  maxOpenPerOrigin: int(1, 10_000_000).default(1_000),
  maxPerHourPerOrigin: int(1, 10_000_000).default(600),
  retainHours: num(0, 24 * 365).default(24),
});

const replicationSchema = z
  .strictObject({
    limit: int(1, 100).default(100),
    minSleepMs: int(0, 3_600_000).default(500),
    maxSleepMs: int(0, 3_600_000).default(2_000),
  })
  .refine((r) => r.minSleepMs <= r.maxSleepMs, { error: 'minSleepMs must not exceed maxSleepMs', path: ['minSleepMs'] });

const httpSchema = z.strictObject({
  // The API stays on loopback; writes need the bearer token in <dataDir>/api.token (src/api/auth.ts).
  host: str()
    .refine(isLoopbackHost, { error: (iss) => `must be a loopback address (127.0.0.1, ::1, localhost), got ${describe(iss.input)}` })
    .default('127.0.0.1'),
  port: int(0, 65_535).default(9180),
  bodyLimitBytes: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  // Writes (POST, with the bearer token of <dataDir>/api.token) accepted per second, and burst.
  postRatePerSec: num(0.01, 100_000).default(10),
  postBurst: int(1, 1_000_000).default(100),
});

export const configSchema = z
  .strictObject({
    network: z.enum(NETWORKS, { error: (iss) => `expected one of ${NETWORKS.join('|')}, got ${describe(iss.input)}` }).default('regtest'),
    dataDir: str().min(1, { error: 'must not be empty' }).default('data'),
    keystore: keystoreSchema.prefault({}),
    chain: chainSchema.prefault({}),
    stake: stakeSchema.prefault({}),
    p2p: p2pSchema.prefault({}),
    blocklist: z
      .strictObject({
        /** Protocol violations: invalid ping, forged or malformed messages, invalid shares, checksum outliers. */
        hours: num(0, 24 * 365).default(72),
        /** A threshold-set member that stayed silent (crashed, partitioned, overloaded): named, then left out of this node's rounds this long while t others are online; never blocked. */
        silentMinutes: num(0, 24 * 60).default(10),
      })
      .prefault({}),
    clock: z.strictObject({ maxSkewMs: int(0, 3_600_000).default(5_000) }).prefault({}),
    committee: committeeSchema.prefault({}),
    schedule: scheduleSchema.prefault({}),
    custody: custodySchema.prefault({}),
    requests: requestsSchema.prefault({}),
    replication: replicationSchema.prefault({}),
    http: httpSchema.prefault({}),
    log: z
      .strictObject({
        level: z.enum(LOG_LEVELS, { error: (iss) => `expected one of ${LOG_LEVELS.join('|')}, got ${describe(iss.input)}` }).default('info'),
        /** auto: journal under systemd (JOURNAL_STREAM), pretty on a terminal, else json (src/util/log.ts). */
        format: z.enum(LOG_FORMATS, { error: (iss) => `expected one of ${LOG_FORMATS.join('|')}, got ${describe(iss.input)}` }).default('auto'),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.network === 'mainnet' && c.keystore.scryptN < SCRYPT_N_DEFAULT)
      ctx.addIssue({ code: 'custom', path: ['keystore', 'scryptN'], message: `must be >= ${SCRYPT_N_DEFAULT} on mainnet` });
    if (c.network === 'mainnet' && c.stake.minAgeHours < 72)
      ctx.addIssue({ code: 'custom', path: ['stake', 'minAgeHours'], message: 'must be >= 72 on mainnet' });
  });

/** The config as written (input) and as used (output, defaults applied, paths not yet resolved). */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** The config a node runs with: defaults applied, paths absolute, keystore dir filled in. */
export type Config = Omit<ParsedConfig, 'keystore' | 'custody'> & {
  keystore: Omit<ParsedConfig['keystore'], 'dir' | 'passphraseEnv'> & { dir: string; passphraseEnv: string };
  /** finalityDepth filled in from FINALITY_DEPTH_DEFAULT for the network when not set. */
  custody: ParsedConfig['custody'] & { finalityDepth: number };
  /** The file the config came from (absolute), or null when built from defaults and env only. */
  source: string | null;
};
export type Network = Config['network'];
