import net from 'node:net';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is free, else the next free port above it; 0 asks the kernel for any. */
export async function findFreePort(preferred = 0): Promise<number> {
  if (preferred === 0) {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1' }, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
  }
  for (let port = preferred; port < preferred + 100 && port <= 65535; port++) {
    if (await isPortFree(port)) return port;
  }
  throw new Error(`no free port in ${preferred}–${preferred + 99}`);
}
