import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ListenerTable, scanListeners } from './listeners';

async function listen(host: string): Promise<net.Server> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  return srv;
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

describe('ListenerTable', () => {
  it('finds this process listening on IPv4 and IPv6 ports in /proc', async () => {
    const [v4, v6] = [await listen('127.0.0.1'), await listen('::1')];
    try {
      const found = scanListeners();
      expect(found).toContainEqual({ family: 4, port: portOf(v4), pid: process.pid });
      expect(found).toContainEqual({ family: 6, port: portOf(v6), pid: process.pid });
    } finally {
      v4.close();
      v6.close();
    }
  });

  it('rescans /proc on a miss at most once per refresh interval', async () => {
    const table = new ListenerTable(400);
    const first = await listen('127.0.0.1');
    expect(table.pidOf(portOf(first))).toBe(process.pid); // first miss: a scan
    const later = await listen('127.0.0.1');
    expect(table.pidOf(portOf(later))).toBeUndefined(); // a miss within the interval: no scan
    await new Promise((r) => setTimeout(r, 450));
    expect(table.pidOf(portOf(later))).toBe(process.pid);
    first.close();
    later.close();
  });
});
