// Which block hash the best chain has at a height, remembered across tips so a caller that asks
// about the same heights block after block (the deposit watcher: one question per confirmed
// output it follows) costs one header read per new block instead of one per height.
//
// A block commits to its parent, so when the best chain still has our highest remembered hash
// at its height, every lower remembered hash is still in it too; a reorg is found by walking
// the remembered heights down until one matches, forgetting those that do not.
import type { ChainSource, Tip } from './types.js';

export class BestChainHashes {
  private hashes = new Map<number, string>();
  private tip: Tip | undefined;
  /** Header reads made since the last takeReads() (each one is answered at the source's tip). */
  private reads = 0;

  constructor(private readonly chain: Pick<ChainSource, 'getBlockHeaderByHeight'>) {}

  /** Moves to `tip`: forgets heights above it and every remembered hash the best chain lost. */
  async follow(tip: Tip): Promise<void> {
    if (this.tip && this.tip.height === tip.height && this.tip.hash === tip.hash) return;
    for (const h of [...this.hashes.keys()]) if (h >= tip.height) this.hashes.delete(h);
    for (const h of [...this.hashes.keys()].sort((a, b) => b - a)) {
      if ((await this.header(h)) === this.hashes.get(h)) break;
      this.hashes.delete(h);
    }
    this.hashes.set(tip.height, tip.hash);
    this.tip = tip;
  }

  /** Whether the block `hash` at `height` is in the best chain ending at the followed tip. */
  async contains(height: number, hash: string): Promise<boolean> {
    return (await this.hashAt(height)) === hash;
  }

  /** The best chain's block hash at `height` (undefined above the followed tip), remembered. */
  async hashAt(height: number): Promise<string | undefined> {
    if (!this.tip || height > this.tip.height || height < 0) return undefined;
    let known = this.hashes.get(height);
    if (known === undefined) {
      known = await this.header(height);
      this.hashes.set(height, known);
    }
    return known;
  }

  /** Keeps only these heights (and the tip's): what nobody asks about any more is not re-checked. */
  retain(heights: Set<number>): void {
    for (const h of [...this.hashes.keys()]) if (h !== this.tip?.height && !heights.has(h)) this.hashes.delete(h);
  }

  /** Header reads since the last call. */
  takeReads(): number {
    const n = this.reads;
    this.reads = 0;
    return n;
  }

  /**
   * Forgets everything. For when a header read may have answered from another chain than the
   * followed tip's (the source's tip moved while we were asking).
   */
  reset(): void {
    this.hashes.clear();
    this.tip = undefined;
  }

  private async header(height: number): Promise<string> {
    this.reads++;
    return (await this.chain.getBlockHeaderByHeight(height)).hash;
  }
}
