import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as lp from 'it-length-prefixed';
import { multiaddr } from '@multiformats/multiaddr';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import { createHost, type P2pHost } from '../../src/p2p/host.js';
import { directProtocol } from '../../src/p2p/topics.js';
import { isMetanodeError } from '../../src/util/errors.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import type { DirectKindSpec } from '../../src/p2p/direct.js';

const echo = (delayMs = 0, pad = 0): DirectKindSpec<{ n: number }, { n: number; from: string; pad: string }> => ({
  request: z.object({ n: z.number().int() }).strict(),
  response: z.object({ n: z.number().int(), from: z.string(), pad: z.string() }).strict(),
  maxRequestBytes: 200,
  maxResponseBytes: 400,
  handler: async (from, req) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (req.n < 0) throw new Error('negative');
    return { n: req.n + 1, from, pad: 'p'.repeat(pad) };
  },
});

describe('direct streams', () => {
  let a: P2pNetwork;
  let b: P2pNetwork;
  let ids: Ident[];
  let raw: P2pHost | undefined;

  before(async () => {
    ids = await Promise.all([0, 1, 2].map((i) => identity(i)));
    const checker = stakeMap(ids);
    a = makeNode(ids[0]!, checker, { directTimeoutMs: 10_000 });
    b = makeNode(ids[1]!, checker, { directTimeoutMs: 10_000 });
    for (const n of [a, b]) {
      n.registerDirect('echo', echo());
      n.registerDirect('slow', echo(3000));
      n.registerDirect('fat', echo(0, 1000));
    }
    a.registerDirect('only-a', echo());
    await a.start();
    await b.start();
    await a.libp2p.dial(multiaddr(addrOf(b)));
  });

  after(async () => {
    await stopAll([a, b, ...(raw ? [raw] : [])]);
  });

  it('answers with the authenticated sender id', async () => {
    const res = await a.request<{ n: number }, { n: number; from: string }>(b.peerId, 'echo', { n: 41 });
    assert.equal(res.n, 42);
    assert.equal(res.from, a.peerId);
  });

  it('error replies, unknown kinds, bad and oversized requests fail with typed errors', async () => {
    await assert.rejects(a.request(b.peerId, 'echo', { n: -1 }), (e) => isMetanodeError(e, 'INVALID_MESSAGE') && e.detail?.remoteError === 'handler error');
    await assert.rejects(a.request(b.peerId, 'only-a', { n: 1 }), (e) => isMetanodeError(e, 'INVALID_MESSAGE') && /unknown kind/.test(String(e.detail?.remoteError)));
    await assert.rejects(a.request(b.peerId, 'nope', { n: 1 }), (e) => isMetanodeError(e, 'INVALID_INPUT'));
    await assert.rejects(a.request(b.peerId, 'echo', { n: 'x' }), (e) => isMetanodeError(e, 'INVALID_INPUT'));
    await assert.rejects(a.request(b.peerId, 'echo', { n: 1, extra: 'y'.repeat(300) }), (e) => isMetanodeError(e, 'INVALID_INPUT'));
  });

  it('times out a slow peer and refuses an oversized reply, naming the peer', async () => {
    await assert.rejects(a.request(b.peerId, 'slow', { n: 1 }, { timeoutMs: 500 }), (e) => isMetanodeError(e, 'TIMEOUT') && e.culprits[0] === b.peerId);
    await assert.rejects(a.request(b.peerId, 'fat', { n: 1 }), (e) => isMetanodeError(e, 'INVALID_MESSAGE') && e.culprits[0] === b.peerId && /exceeds/.test(e.message));
    // still works afterwards
    assert.equal((await a.request<{ n: number }, { n: number }>(b.peerId, 'echo', { n: 1 })).n, 2);
  });

  it('a peer that closes the stream without replying (shutting down) is not blamed', async () => {
    const quiet = await createHost({ privateKey: ids[2]!.key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    try {
      await quiet.start();
      await quiet.handle(directProtocol('regtest'), ({ stream }) => {
        void (async () => {
          for await (const _ of lp.decode(stream.source)) break;
          await stream.close();
        })().catch(() => {});
      });
      await a.libp2p.dial(quiet.getMultiaddrs()[0]!);
      await assert.rejects(
        a.request(ids[2]!.peerId, 'echo', { n: 1 }),
        (e) => isMetanodeError(e, 'ABORTED') && e.culprits.length === 0 && /without a reply/.test(e.message),
      );
      assert.equal(a.blocklist.isBlocked(ids[2]!.peerId), false);
    } finally {
      await quiet.stop();
    }
  });

  it('a malformed frame is a protocol violation: the sender is blocklisted', async () => {
    raw = await createHost({ privateKey: ids[2]!.key, listen: ['/ip4/127.0.0.1/tcp/0'] });
    await raw.start();
    const stream = await raw.dialProtocol(multiaddr(addrOf(b)), directProtocol('regtest'));
    await stream.sink([lp.encode.single(new TextEncoder().encode('{"kind":1}')).subarray()]);
    await waitFor('raw sender blocklisted', () => b.blocklist.get(ids[2]!.peerId)?.reason === 'direct-malformed', 5000);
  });
});
