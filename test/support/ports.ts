// A loopback port that nothing listens on (bound once, then released): for "chain source
// unreachable" and similar cases.
import { createServer } from 'node:net';

export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
