import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Partitioned: nothing goes through either way, and neither end is told. */
  cut: boolean;
}

/**
 * A TCP proxy whose connections can be partitioned one by one: the bytes stop flowing both
 * ways, and neither end sees a close or a reset, as when a network path silently dies.
 */
export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<Pair>();

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on a free port of 127.0.0.1 and returns it. */
  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair: Pair = { client, upstream, cut: false };
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) => {
        from.on('data', (chunk) => {
          if (!pair.cut) to.write(chunk);
        });
        from.on('error', () => undefined);
        from.on('close', () => {
          this.pairs.delete(pair);
          if (!pair.cut) to.destroy();
        });
      };
      forward(client, upstream);
      forward(upstream, client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Partitions the connection the server sees coming from `upstreamPort`; false when there is none. */
  partition(upstreamPort: number): boolean {
    for (const pair of this.pairs) {
      if (pair.upstream.localPort === upstreamPort) {
        pair.cut = true;
        return true;
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
