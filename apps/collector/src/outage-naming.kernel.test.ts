/**
 * The outage e2e's setup on the real kernel, without the browser (issue #13): the collector as its own process
 * (bin/sextant-collector.mjs), payments-svc and orders-api as `node server.js` named by their package.json,
 * orders-api calling payments-svc with a new connection per checkout (agent: false), curl calling orders-api one
 * request after the other — then payments-svc killed the moment the last call is answered, without waiting for
 * the collector, and orders-api's connects to it refused. Every record towards payments-svc's port, served or
 * refused, must name payments-svc.
 *
 * The ring buffer poller used to hand records to JS only once the ring was quiet for a whole 50 ms drain or
 * 256 KiB had piled up. The e2e's calls are a steady trickle (a few records every ~25 ms), so in most runs all
 * of them reached the collector after the kill: payments-svc's /proc was gone when it was first read, its
 * records were named after the kernel's comm ('node'), and so was the port it left behind. A run whose calls
 * happened to leave 50 ms of quiet was delivered in time and passed; here a background process also makes an
 * HTTP call on a new loopback connection every 10 ms while the services are called (a few dozen KB/s of
 * records: no 256 KiB batch in the run), so the connections' ring is never quiet before the kill.
 */
import { describe, expect, it } from 'vitest';
import { kernelRig, run, settle } from './testing/kernel-rig';
import { ORDERS_JS, PAYMENTS_JS, startNamedService } from './testing/outage-services';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('outage-naming');
/**
 * The collector's cache of /proc per process (ms), its smallest: the test waits past it for the killed service
 * to be forgotten, and a record read after the kill re-reads /proc instead of finding the service in the
 * cache. The server's own record of a connection closed by the kill (its socket closed as the process exits,
 * read a moment later) used to be named after what was left of it, its comm 'node': one record in a CI run
 * under load, 2 of 42 in every run with this cache.
 */
const PROCESS_CACHE_MS = 100;

// The e2e's two services (e2e/tests/outage.e2e.ts), from one definition.
const startService = (name: string, js: string, env?: Record<string, string>) =>
  startNamedService((c, args, o) => rig.spawn(c, args, o), rig.tmp, name, js, env);

/**
 * Background traffic: an HTTP call on a new loopback connection every 10 ms, to its own server, so that both
 * ring buffers (connections, and the HTTP exchanges the L7 capture reads) get records all the time.
 */
const TRICKLE_JS = `const http = require('http');
const s = http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => {
  setInterval(() => http.get({ host: '127.0.0.1', port: s.address().port, agent: false }, (p) => p.resume()).on('error', () => {}), 10);
  console.log('up');
});`;

/** n requests to orders-api, one after the other, every third one /api/items; returns the checkouts made. */
async function drive(ordersPort: number, n: number): Promise<number> {
  let checkouts = 0;
  for (let i = 0; i < n; i++) {
    const p = i % 3 === 2 ? 'items' : 'checkout';
    if (p === 'checkout') checkouts++;
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${ordersPort}/api/${p}`]);
  }
  return checkouts;
}

describe.skipIf(rig.skip)('a dependency killed right after its last call (the outage e2e on the kernel)', () => {
  it('names every record towards its port after it, served and refused, also when killed before the collector read it', async () => {
    const collector = await rig.collectorProcess({
      // Only the connection records name payments-svc here: the HTTP exchanges (the L7 ring, same poller)
      // and the kernel histograms (drained every 10 s) name their destinations too, and one of them read
      // while payments-svc ran passed the old poller about one run in three.
      SEXTANT_L7: '0',
      SEXTANT_HISTOGRAM_INTERVAL_MS: '300000',
      SEXTANT_PROCESS_CACHE_MS: String(PROCESS_CACHE_MS),
    });
    const trickle = rig.node(TRICKLE_JS);
    await new Promise((resolve) => trickle.stdout?.once('data', resolve));
    const [payments, paymentsPort] = await startService('payments-svc', PAYMENTS_JS);
    const [, ordersPort] = await startService('orders-api', ORDERS_JS, { PAYMENTS_PORT: String(paymentsPort) });
    const calls = await drive(ordersPort, 63); // 42 checkouts, each one connection to payments-svc
    payments.kill('SIGKILL'); // as the e2e does: at once, whatever the collector has read so far
    await new Promise((r) => payments.on('exit', r));
    trickle.kill('SIGKILL');
    await settle(PROCESS_CACHE_MS + 500); // past the collector's cache of /proc (10 s by default, shortened here)
    const refused = await drive(ordersPort, 13); // 9 checkouts, refused at connect

    const byName = `SELECT traffic_direction AS dir, close_reason AS why, dst_service AS service, count(*)::int AS n
      FROM flows WHERE dst_port = $1 AND (drop_reason IS NULL OR drop_reason = 'CONNECTION_REFUSED') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
    const total = async () => (await rig.db.pool.query(byName, [paymentsPort])).rows.reduce((s: number, r: { n: number }) => s + r.n, 0);
    await waitFor(total, (n) => n >= 2 * calls + refused, 30_000);
    await settle(); // nothing more arrives
    // Each served call: its connection from both ends (orders-api's and payments-svc's); each refused
    // connect: one record. All named payments-svc. Left out (logged): packet drops the kernel counted at the
    // port around the kill (one run had one), drop records of their own and not connections.
    const drops = `SELECT traffic_direction, drop_reason, src_service, dst_service, packets_sent FROM flows
      WHERE dst_port = $1 AND drop_reason IS NOT NULL AND drop_reason <> 'CONNECTION_REFUSED'`;
    console.log(`[outage-naming] other drops at the port: ${JSON.stringify((await rig.db.pool.query(drops, [paymentsPort])).rows)}`);
    expect((await rig.db.pool.query(byName, [paymentsPort])).rows).toEqual([
      { dir: 'EGRESS', why: 'CLOSED', service: 'payments-svc', n: calls },
      { dir: 'EGRESS', why: 'REFUSED', service: 'payments-svc', n: refused },
      { dir: 'INGRESS', why: 'CLOSED', service: 'payments-svc', n: calls },
    ]);
    collector.kill('SIGTERM');
    await new Promise((r) => collector.on('exit', r));
  }, 120_000);
});
