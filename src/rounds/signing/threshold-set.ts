// Step 4 of the round (seed 004): from the signing sets peers broadcast, every node derives the
// same threshold set.
//
// 1. Signing sets smaller than t are ignored; so are sets that do not contain their sender.
// 2. "Minimal subset shared by at least t peers whose members all see each other, repeated until
//    one meets the threshold": start from every sender of a valid set; while some member and
//    another member do not see each other (either misses the other in its set), drop the member
//    with the most such misses (ties: the most junior, then the larger peer id) and repeat. What
//    remains is a group of mutually visible peers, each of whose sets contains the whole group,
//    so the group is shared by all of its members. If fewer than t remain, there is no set.
//    Because the procedure depends only on the broadcast sets, two nodes that broadcast
//    different t-size lists still converge on the same group.
// 3. Order by seniority; walking from the most junior up, prune a peer whose tss_proof is also
//    held by a remaining, more senior peer (a copied proof can only belong to one of them).
// 4. The first t form the threshold set; the rest stay in order as the retry pool.

export interface ThresholdInput {
  /** Sender peer id -> the signing set it broadcast (own set included). */
  signingSets: Record<string, string[]>;
  threshold: number;
  /** Peer ids, most senior first. Peers absent from it are never selected. */
  seniority: string[];
  /** Peer id -> tss_proof from its proposal, where known. */
  proofs: Record<string, string>;
}

export interface ThresholdResult {
  /** Mutually visible group, before pruning, in seniority order. */
  group: string[];
  /** Peers removed for a non-unique tss_proof. */
  pruned: string[];
  /** Group after pruning, seniority order: the threshold set followed by the retry pool. */
  ordered: string[];
  thresholdSet: string[];
}

export function selectThresholdSet(input: ThresholdInput): ThresholdResult | null {
  const { threshold: t } = input;
  if (!Number.isInteger(t) || t < 1) return null;
  const rank = new Map(input.seniority.map((p, i) => [p, i]));
  const sets = new Map<string, Set<string>>();
  for (const [sender, members] of Object.entries(input.signingSets)) {
    const s = new Set(members);
    if (s.size < t || !s.has(sender) || !rank.has(sender)) continue;
    sets.set(sender, s);
  }
  const sees = (a: string, b: string) => sets.get(a)!.has(b) && sets.get(b)!.has(a);
  const group = new Set(sets.keys());
  for (;;) {
    if (group.size < t) return null;
    let worst: string | null = null;
    let worstMisses = 0;
    for (const a of group) {
      let misses = 0;
      for (const b of group) if (a !== b && !sees(a, b)) misses++;
      if (misses === 0) continue;
      if (
        worst === null ||
        misses > worstMisses ||
        (misses === worstMisses && (rank.get(a)! > rank.get(worst)! || (rank.get(a)! === rank.get(worst)! && a > worst)))
      ) {
        worst = a;
        worstMisses = misses;
      }
    }
    if (worst === null) break;
    group.delete(worst);
  }
  const ordered = [...group].sort((a, b) => rank.get(a)! - rank.get(b)!);
  const pruned: string[] = [];
  const kept = [...ordered];
  for (let i = kept.length - 1; i >= 0; i--) {
    const p = kept[i]!;
    const proof = input.proofs[p];
    if (proof === undefined) continue;
    if (kept.some((q, j) => j < i && input.proofs[q] === proof)) {
      pruned.push(p);
      kept.splice(i, 1);
    }
  }
  if (kept.length < t) return null;
  return { group: ordered, pruned, ordered: kept, thresholdSet: kept.slice(0, t) };
}
