// Prometheus counters for the peer network. The registry is passed in so that several nodes in
// one test process (and the node's /metrics) each have their own.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface P2pMetrics {
  messagesAccepted: Counter<'type'>;
  messagesRejected: Counter<'type' | 'reason'>;
  messagesIgnored: Counter<'type' | 'reason'>;
  peersBlocklisted: Counter<'reason'>;
  directRequests: Counter<'kind' | 'outcome'>;
  replicationRecords: Counter<'outcome'>;
  peers: Gauge;
  connections: Gauge;
}

export function createP2pMetrics(registry: Registry): P2pMetrics {
  const reg = [registry];
  return {
    messagesAccepted: new Counter({ name: 'metanode_p2p_messages_accepted_total', help: 'Gossip messages accepted, by type', labelNames: ['type'], registers: reg }),
    messagesRejected: new Counter({ name: 'metanode_p2p_messages_rejected_total', help: 'Gossip messages rejected (sender penalised), by type and reason', labelNames: ['type', 'reason'], registers: reg }),
    messagesIgnored: new Counter({ name: 'metanode_p2p_messages_ignored_total', help: 'Gossip messages ignored without blame, by type and reason', labelNames: ['type', 'reason'], registers: reg }),
    peersBlocklisted: new Counter({ name: 'metanode_p2p_peers_blocklisted_total', help: 'Peers put on the blocklist, by reason', labelNames: ['reason'], registers: reg }),
    directRequests: new Counter({ name: 'metanode_p2p_direct_requests_total', help: 'Direct stream requests served, by kind and outcome', labelNames: ['kind', 'outcome'], registers: reg }),
    replicationRecords: new Counter({ name: 'metanode_p2p_replication_records_total', help: 'Transfer-request records received by pull gossip, by outcome', labelNames: ['outcome'], registers: reg }),
    peers: new Gauge({ name: 'metanode_p2p_peers', help: 'Admitted peers in the peer table', registers: reg }),
    connections: new Gauge({ name: 'metanode_p2p_connections', help: 'Open connections', registers: reg }),
  };
}

/** Reads a counter's value for given labels (for /health and tests). */
export async function counterValue(c: Counter<string>, labels: Record<string, string>): Promise<number> {
  const m = await c.get();
  const hit = m.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
