// Epoch catch-up: a node that missed a ceremony's final attestations, or that joined after the
// last keygen, learns the current public epoch record from a peer whose pings announce a newer
// epoch. Nothing is trusted from the peer: src/epochs/sync.ts checks the key against the record
// and the record against the trust rules every adoption passes (src/epochs/adoption.ts).
import { EPOCH_SYNC_KIND, epochSyncDirectSpecs, epochSyncRequest, importEpochs, serveEpochSync } from '../epochs/sync.js';
import { errorMessage } from '../util/errors.js';
import type { NodeContext } from './context.js';

export class EpochSync {
  private busy = false;

  constructor(
    private readonly ctx: NodeContext,
    private readonly onChange: () => Promise<void>,
  ) {
    const spec = epochSyncDirectSpecs[EPOCH_SYNC_KIND];
    ctx.network.direct.register(EPOCH_SYNC_KIND, { ...spec, handler: (_from: string, req: unknown) => serveEpochSync(ctx.manager, req) });
  }

  /** Asks one peer that is ahead of us; a no-op while we are level with everyone. */
  async tick(): Promise<void> {
    if (this.busy) return;
    const { ctx } = this;
    // While our own keygen/regroup runs, its outcome comes first: importing its record as public
    // meanwhile would make the epoch current here without our share (and our pings proof-less).
    if (ctx.activity.state === 'keygen' || ctx.activity.state === 'regroup') return;
    const mine = ctx.manager.store.maxEpoch();
    const ahead = ctx.network.table.list().filter((e) => e.epoch > mine);
    if (ahead.length === 0) return;
    const peer = ahead[Math.floor(Math.random() * ahead.length)]!;
    this.busy = true;
    try {
      const req = epochSyncRequest(ctx.manager);
      const res = await ctx.network.direct.request(peer.peerId, EPOCH_SYNC_KIND, req);
      const out = await importEpochs(ctx.manager, res, { from: peer.peerId, network: ctx.config.network, cursor: req.afterEpoch });
      if (out.rejected.length) ctx.log.warn({ from: peer.peerId, rejected: out.rejected }, 'epoch records refused');
      // A peer that announces a newer epoch and serves only records held here (a replay of old
      // records, or a stale announcement): nothing is taken from it, but the operator hears of it.
      else if (out.imported.length === 0 && out.notYet.length === 0)
        ctx.log.warn({ from: peer.peerId, announced: peer.epoch, known: out.known }, 'epoch sync: nothing new from a peer that announced a newer epoch');
      if (out.imported.length) {
        ctx.log.info({ from: peer.peerId, imported: out.imported }, 'caught up on epoch records');
        await this.onChange();
      }
    } catch (e) {
      ctx.log.debug({ peer: peer.peerId, err: errorMessage(e) }, 'epoch sync failed');
    } finally {
      this.busy = false;
    }
  }
}
