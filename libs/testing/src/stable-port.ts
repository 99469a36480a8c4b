import { createServer } from 'node:net';

/** Ports handed out by this process, so two callers at once never get the same one. */
const handedOut = new Set<number>();

/**
 * A run of `span` free ports outside the ephemeral range (which starts at 32768 on Linux), so
 * a restarted broker, database or service finds its port free again, and two test processes
 * running at once (nx runs messaging:test beside messaging:test-platformatic) do not share one.
 */
export async function stablePort(span = 1, taken: Set<number> = handedOut): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: span }, (_, i) => port + i);
    if (ports.some((p) => taken.has(p) || handedOut.has(p))) continue;
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) {
      ports.forEach((p) => {
        taken.add(p);
        handedOut.add(p);
      });
      return port;
    }
  }
  throw new Error('no free run of ports between 20000 and 32000');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
