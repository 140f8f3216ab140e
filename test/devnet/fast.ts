// The devnet tests' pace: keygen every 10 s (one attempt per round), 10-second rounds, quick pings, fast chain polls.
export const FAST_DEVNET_OVERRIDES = {
  chain: { pollMs: 300 },
  schedule: { keygen: '*/10 * * * * *', signing: '*/10 * * * * *', regroup: '59 59 23 * * *' },
  p2p: { pingIntervalMs: 1_000, peerTimeoutMs: 6_000 },
  custody: { replicationDelayMs: 500 },
};
