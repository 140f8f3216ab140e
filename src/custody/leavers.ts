// Where a member that left the committee is paid the rewards it accrued (src/custody/rewards.ts).
//
// A custody tx of signing epoch E pays its participants at their participant-table addresses
// (agreed through the peer-table checksum). A peer with a balance that is not in E's committee
// (a leaver) is paid at the reward address of the NEWEST record in E's lineage that lists it: E's
// previous epoch, its previous epoch, and so on to the first keygen. The records are signed by
// their whole committee (each member signed its own address), synced and validated by every node,
// and never change, so every node that holds the lineage derives the same address, for the
// candidate and for reading the payout back from the chain, before and after any reorg. A node
// missing a record of the lineage derives nothing (null): its ledger waits, and it proposes no
// reward until epoch sync gave it the record.
//
// Decision: when the newest record that lists a leaver carries no reward address (a record made
// before the field existed), the leaver is not paid as a leaver (an older address may be stale).
// Its balance stays in the ledger; it is paid once it takes part in a round again.

/** What the derivation reads of an adopted epoch record. */
export interface LineageRecord {
  epoch: number;
  previousEpoch: number | null;
  committee: ReadonlyArray<{ peerId: string; rewardAddress?: string }>;
}

/**
 * Reward address per leaver of `epoch`: every peer listed in an earlier record of its lineage and
 * not in its committee, at the address of the newest record listing it (peers whose newest record
 * has no address are left out). null when this node lacks `epoch` or a record of its lineage.
 */
export function leaverAddresses(epoch: number, get: (epoch: number) => LineageRecord | null): Map<string, string> | null {
  const top = get(epoch);
  if (!top) return null;
  const seen = new Set(top.committee.map((m) => m.peerId));
  const out = new Map<string, string>();
  let prev = top.previousEpoch;
  let below = top.epoch;
  while (prev !== null) {
    // The lineage only goes down (a record names an earlier epoch): no cycle, at most `epoch` steps.
    if (!Number.isInteger(prev) || prev >= below) return null;
    const r = get(prev);
    if (!r || r.epoch !== prev) return null;
    for (const m of r.committee) {
      if (seen.has(m.peerId)) continue;
      seen.add(m.peerId);
      if (m.rewardAddress !== undefined) out.set(m.peerId, m.rewardAddress);
    }
    below = prev;
    prev = r.previousEpoch;
  }
  return out;
}
