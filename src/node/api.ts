// The node's answers to the HTTP API (src/api): plain data read from the stores and the network.
import type { NodeApi, NodeStatus, PeerView, TransferView, DepositView, HealthInputs } from '../api/types.js';
import { listRounds, readTimeline } from '../rounds/roundlog.js';
import { getTransfer } from '../custody/transfers.js';
import { vaultAddress } from '../crypto/taproot.js';
import { MetanodeError } from '../util/errors.js';
import type { NodeContext } from './context.js';
import type { SigningRunner } from './signing-runner.js';

export interface NodeApiDeps {
  ctx: NodeContext;
  signing: SigningRunner;
  startedAt: number;
  version: string;
  isStarting(): boolean;
}

export function createNodeApi(d: NodeApiDeps): NodeApi {
  const { ctx } = d;
  const outpoint = (s: string) => {
    const [txid, vout] = s.split(':');
    return { txid: txid!, vout: Number(vout) };
  };
  return {
    health(): HealthInputs {
      const skew = ctx.network.clockSkewStatus();
      const conn = ctx.network.connectionStatus();
      const staked = ctx.network.table.size + (ctx.network.ownStakeVerdict()?.valid ? 1 : 0);
      return {
        starting: d.isStarting(),
        chain: { reachable: ctx.chainView.reachable, ...(ctx.chainView.error ? { error: ctx.chainView.error } : {}) },
        clock: { skewMs: skew.peers > 0 ? skew.ownOffsetMs : null },
        peers: {
          connectedStaked: conn?.connectedStaked ?? 0,
          federationSize: Math.max(1, staked),
          inBootstrapGrace: ctx.now() - d.startedAt < ctx.config.p2p.bootstrapGraceMs,
        },
      };
    },

    status(): NodeStatus {
      const cur = ctx.manager.current();
      const own = ctx.network.ownStakeVerdict();
      const round = d.signing.current;
      const stake = ctx.config.stake;
      return {
        peerId: ctx.peerId,
        network: ctx.config.network,
        version: d.version,
        startedAt: d.startedAt,
        uptimeSec: Math.floor((ctx.now() - d.startedAt) / 1000),
        state: ctx.activity.state,
        epoch: cur?.record.epoch ?? null,
        vaultAddress: cur?.record.vaultAddress ?? null,
        threshold: cur?.record.threshold ?? null,
        committeeSize: cur?.record.committee.length ?? null,
        chain: {
          source: ctx.config.chain.source,
          reachable: ctx.chainView.reachable,
          tipHeight: ctx.chainView.tip?.height ?? null,
          tipTime: ctx.chainView.tip?.time ?? null,
        },
        peers: {
          connected: ctx.network.connectedPeers().length,
          admitted: ctx.network.table.size,
          staked: ctx.network.table.size + (own?.valid ? 1 : 0),
          blocked: ctx.network.blocklist.list().length,
        },
        stake:
          stake.txid !== undefined && stake.vout !== undefined
            ? { txid: stake.txid, vout: stake.vout, valid: own?.valid === true, ...(own && !own.valid ? { reason: `${own.reason}: ${own.detail}` } : {}) }
            : null,
        currentRound: round ? { roundId: round.state.cfg.roundId, status: round.state.phase } : null,
        clockSkewMs: ctx.network.clockSkewStatus().ownOffsetMs ?? null,
      };
    },

    peers(): PeerView[] {
      const connected = new Set(ctx.network.connectedPeers());
      const table = ctx.network.table.list();
      const blocked = new Map(ctx.network.blocklist.list().map((b) => [b.peerId, b.until]));
      const ids = new Set([...table.map((e) => e.peerId), ...connected, ...blocked.keys()]);
      const bySeniority = [...table].sort((a, b) => a.seniority.height - b.seniority.height || (a.seniority.txid < b.seniority.txid ? -1 : 1));
      return [...ids].map((peerId) => {
        const e = table.find((x) => x.peerId === peerId);
        return {
          peerId,
          connected: connected.has(peerId),
          admitted: e !== undefined,
          staked: e !== undefined,
          stake: e ? { ...outpoint(e.stakeOutpoint), valueSats: e.amount, height: e.seniority.height } : null,
          seniority: e ? bySeniority.indexOf(e) : null,
          state: e?.state ?? null,
          tipHeight: e?.tip ?? null,
          lastPingAt: e?.lastSeen ?? null,
          clockOffsetMs: e?.clockOffsetMs ?? null,
          blockedUntil: blocked.get(peerId) ?? null,
          addrs: [],
        };
      });
    },

    rounds(q) {
      const all = listRounds(ctx.db, q.before === undefined ? q.limit : 1000);
      return (q.before === undefined ? all : all.filter((r) => r.roundId < q.before!)).slice(0, q.limit);
    },

    round(id) {
      const t = readTimeline(ctx.db, id);
      return t.round || t.entries.length ? t : null;
    },

    transfers(q): TransferView[] {
      const out: TransferView[] = [];
      for (const { record } of ctx.requests.list({ limit: 10_000 })) {
        const t = getTransfer(ctx.db, record.id);
        const expired = record.expiry * 1000 < ctx.now();
        const state = t?.state ?? (expired ? 'expired' : 'pending');
        if (q.state && q.state !== state) continue;
        out.push({ request: record, state, txid: t?.txid ?? null, updatedAt: t?.updatedAt ?? null });
      }
      return out.reverse().slice(0, q.limit);
    },

    deposits(q): DepositView[] {
      return ctx.deposits
        .list()
        .filter((d) => !q.state || d.status === q.state)
        .slice(-q.limit)
        .reverse()
        .map((d) => ({
          txid: d.txid,
          vout: d.vout,
          valueSats: d.value,
          address: d.address,
          requestId: d.requestId ?? null,
          confirmations: d.confirmations,
          state: d.kind === 'vault' ? `vault-${d.status}` : d.status,
        }));
    },

    epochs() {
      const current = ctx.manager.current()?.record.epoch;
      // The attestation view (seed 003): every record with all committee signatures, plus the
      // public key material a client needs to recompute addresses.
      return {
        epochs: ctx.manager.store.all().map((e) => ({
          record: e.record,
          signatures: e.signatures,
          status: e.status,
          key: e.key,
          active: e.record.epoch === current,
          vaultAddress: vaultAddress(e.key),
        })),
      };
    },

    async submitRequest(req) {
      if (!ctx.manager.current()) throw new MetanodeError('INVALID_INPUT', 'no vault key yet: keygen has not completed');
      return ctx.requests.create({ amountSats: req.amountSats, payoutAddress: req.payoutAddress, refundAddress: req.refundAddress, expiry: req.expiry });
    },
  };
}
