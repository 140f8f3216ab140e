// Bounded set of recently seen message digests with a time-to-live, for replay detection.
// Map iteration order is insertion order, so the oldest entries are evicted first.
export class SeenCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs: number = 10 * 60_000,
    private readonly maxEntries: number = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(key: string): boolean {
    const at = this.entries.get(key);
    if (at === undefined) return false;
    if (this.now() - at > this.ttlMs) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  add(key: string): void {
    this.entries.delete(key);
    this.entries.set(key, this.now());
    this.prune();
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, at] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - at <= this.ttlMs) break;
      this.entries.delete(k);
    }
  }
}
