import net from 'node:net';

export interface TcpProxy {
  /** Port to connect to instead of the target's. */
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Cuts every open connection at once, both sides: what a dying load balancer or network does. */
  dropAll(): number;
  close(): Promise<void>;
}

/** A TCP proxy to 127.0.0.1:`targetPort` whose connections a test can cut. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    dropAll() {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
