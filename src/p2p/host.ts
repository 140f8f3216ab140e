// The libp2p host: TCP + Noise + Yamux + identify + gossipsub (strictly signed). No mdns, no DHT:
// peers come from the configured bootstrap list and from whoever dials us.
import '../util/polyfill.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@chainsafe/libp2p-gossipsub';
import { createTopicScoreParams } from '@chainsafe/libp2p-gossipsub/score';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import type { ConnectionGater, PrivateKey } from '@libp2p/interface';
import type { Registry } from 'prom-client';
import { libp2pPrometheusMetrics } from './libp2p-metrics.js';

export type P2pHost = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }>;

export interface HostOptions {
  /** Ed25519 identity: a PrivateKey or its libp2p protobuf encoding. */
  privateKey: PrivateKey | Uint8Array;
  listen: string[];
  announce?: string[];
  connectionGater?: ConnectionGater;
  maxConnections?: number;
  /** Full wire topics whose invalid messages lower the sender's score. */
  scoredTopics?: string[];
  heartbeatMs?: number;
  /** Max gossipsub message data size (bytes). */
  maxMessageBytes?: number;
  /** Export libp2p's own metrics (libp2p_*) into this prom-client registry. */
  metricsRegistry?: Registry;
  /** Application score per peer (<= 0: the gossip rate limiter's penalty), weight 1. */
  appScore?: (peerId: string) => number;
}

/** Per-topic score parameters: only invalid deliveries count, strongly. Mesh-delivery scoring is
 * off because in a federation of a handful of nodes delivery rates are too noisy to judge. */
export function topicScoreParams() {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.5,
  });
}

export function toPrivateKey(k: PrivateKey | Uint8Array): PrivateKey {
  const key = (k instanceof Uint8Array ? privateKeyFromProtobuf(k) : k) as PrivateKey;
  if (key.type !== 'Ed25519') throw new Error(`identity key must be Ed25519, got ${key.type}`);
  return key;
}

export async function createHost(opts: HostOptions): Promise<P2pHost> {
  const privateKey = toPrivateKey(opts.privateKey);
  const topics: Record<string, ReturnType<typeof topicScoreParams>> = {};
  for (const t of opts.scoredTopics ?? []) topics[t] = topicScoreParams();
  const node = await createLibp2p({
    privateKey,
    start: false,
    addresses: { listen: opts.listen, announce: opts.announce ?? [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: opts.connectionGater,
    connectionManager: { maxConnections: opts.maxConnections ?? 100, dialTimeout: 5_000 },
    ...(opts.metricsRegistry ? { metrics: libp2pPrometheusMetrics(opts.metricsRegistry) } : {}),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        fallbackToFloodsub: false,
        floodPublish: true,
        // Small federations: a mesh degree of 3..6 keeps every node reachable with f+1 links.
        D: 3,
        Dlo: 2,
        Dhi: 6,
        Dout: 1,
        Dlazy: 3,
        heartbeatInterval: opts.heartbeatMs ?? 700,
        maxInboundDataLength: opts.maxMessageBytes ?? 1024 * 1024,
        scoreParams: {
          topics,
          IPColocationFactorWeight: 0,
          ...(opts.appScore ? { appSpecificScore: opts.appScore, appSpecificWeight: 1 } : {}),
        },
      }),
    },
  });
  return node as unknown as P2pHost;
}
