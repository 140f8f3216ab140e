// A buffer of messages that arrived before the round or ceremony they belong to, with a quota per
// sender and a total cap: one peer flooding early messages fills only its own share, and the
// others' messages still get in (issue 16: the 2,000-entry buffers were shared by all senders).

export class PeerBuffer<T> {
  private items: { from: string; item: T }[] = [];
  private readonly perPeer = new Map<string, number>();

  constructor(
    readonly perPeerQuota: number,
    readonly totalCap: number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds `item` unless its sender is at its quota or the buffer is full; says whether it was kept. */
  push(from: string, item: T): boolean {
    const n = this.perPeer.get(from) ?? 0;
    if (n >= this.perPeerQuota || this.items.length >= this.totalCap) return false;
    this.items.push({ from, item });
    this.perPeer.set(from, n + 1);
    return true;
  }

  /** Keeps only the items `keep` accepts. */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.filter((e) => keep(e.item));
    this.perPeer.clear();
    for (const e of this.items) this.perPeer.set(e.from, (this.perPeer.get(e.from) ?? 0) + 1);
  }

  /** Removes and returns the items `pick` accepts, in arrival order. */
  take(pick: (item: T) => boolean): T[] {
    const taken = this.items.filter((e) => pick(e.item)).map((e) => e.item);
    this.retain((item) => !pick(item));
    return taken;
  }
}
