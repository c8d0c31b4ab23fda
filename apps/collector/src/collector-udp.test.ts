/**
 * The whole path on the real kernel, beyond TCP connections: UDP conversations per peer, resets, and interim reports
 * of a long-lived connection, shipped to the real API and PostgreSQL (setup shared with collector.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Collector } from './collector';
import { config, db, noKernel, run, spawnNode, useCollectorSuite } from './testing/collector-suite';
import { waitFor } from './testing/wait-for';

useCollectorSuite();

describe.skipIf(noKernel)('collector on the real kernel: UDP and interim reports', () => {
  it('stores UDP conversations per peer, resets, and interim reports of a long-lived connection', async () => {
    const collector = new Collector(config({ updateIntervalMs: 1_000 }), () => {});
    await collector.start();
    const children: { kill: () => void }[] = [];
    const nodeChild = (script: string) => {
      const c = spawnNode(script);
      children.push(c);
      return c;
    };
    try {
      // UDP: a server bound to "any" below the ephemeral range (so it reads as the server) answers 10 bytes
      // to each of N 100-byte datagrams from an unconnected client in another process.
      const N = 15;
      const udpServer = nodeChild(`
        const s = require('dgram').createSocket('udp4');
        s.on('message', (m, r) => s.send(Buffer.alloc(10), r.port, r.address));
        const bind = () => s.bind(20000 + Math.floor(Math.random() * 5000), '0.0.0.0');
        s.on('error', bind); s.on('listening', () => console.log(s.address().port)); bind();`);
      const sport = Number(await udpServer.line());
      const udpClient = nodeChild(`
        const c = require('dgram').createSocket('udp4'); let got = 0;
        c.on('message', () => { if (++got === ${N}) { console.log(c.address().port); c.close(); } });
        c.bind(0, '127.0.0.1', async () => {
          for (let i = 0; i < ${N}; i++) await new Promise((r) => c.send(Buffer.alloc(100), ${sport}, '127.0.0.1', r));
        });`);
      const cport = Number(await udpClient.line());
      // A reset: a server that aborts every connection on its first bytes.
      const rstServer = nodeChild(`
        const s = require('net').createServer((c) => c.on('data', () => c.resetAndDestroy()));
        s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
      const rport = Number(await rstServer.line());
      await run('curl', ['-s', `http://127.0.0.1:${rport}/`]).catch(() => {});
      // A long-lived connection: 100 bytes every 100 ms for 3.5 s to an echo server, then closed.
      const echo = nodeChild(`
        const s = require('net').createServer((c) => c.on('data', (d) => c.write(d)));
        s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
      const eport = Number(await echo.line());
      const talker = nodeChild(`
        const c = require('net').connect(${eport}, '127.0.0.1', () => {
          const t = setInterval(() => c.write(Buffer.alloc(100)), 100);
          setTimeout(() => { clearInterval(t); c.end(); console.log('done'); }, 3500);
        });
        c.on('data', () => {});`);
      await talker.line();

      const udp = async () =>
        (
          await db.pool.query(
            `SELECT traffic_direction AS dir, src_ip, dst_ip, min(src_process) AS proc, sum(packets_sent)::int AS ps, sum(bytes_sent)::int AS bs,
                sum(packets_received)::int AS pr, sum(bytes_received)::int AS br
           FROM flows WHERE l4_protocol = 'UDP' AND verdict = 'FORWARDED' AND src_port = $1 AND dst_port = $2
          GROUP BY 1, 2, 3 ORDER BY 1`,
            [cport, sport],
          )
        ).rows;
      const full = (rows: { ps: number; pr: number }[]) => rows.length === 2 && rows.every((r) => r.ps === N && r.pr === N);
      const udpRows = await waitFor(udp, full);
      // Both ends on this host: the client's own record and the server's, each with every datagram and byte.
      expect(udpRows).toEqual([
        { dir: 'EGRESS', src_ip: '127.0.0.1', dst_ip: '127.0.0.1', proc: 'node', ps: N, bs: N * 100, pr: N, br: N * 10 },
        { dir: 'INGRESS', src_ip: '127.0.0.1', dst_ip: '127.0.0.1', proc: null, ps: N, bs: N * 100, pr: N, br: N * 10 },
      ]);
      const resets = await waitFor(
        async () =>
          (
            await db.pool.query(
              `SELECT traffic_direction AS dir, close_reason FROM flows WHERE dst_port = $1 AND l4_protocol = 'TCP' AND verdict = 'FORWARDED' ORDER BY 1`,
              [rport],
            )
          ).rows,
        (rows) => rows.length >= 2,
      );
      expect(resets).toEqual([
        { dir: 'EGRESS', close_reason: 'RESET' },
        { dir: 'INGRESS', close_reason: 'RESET' },
      ]);
      const talk = async () =>
        (
          await db.pool.query(
            `SELECT flow_id, final, bytes_sent::int AS bs, bytes_received::int AS br FROM flows
          WHERE dst_port = $1 AND traffic_direction = 'EGRESS' AND l4_protocol = 'TCP' ORDER BY time, final, bytes_sent`,
            [eport],
          )
        ).rows;
      const rows = await waitFor(talk, (r) => r.some((x) => x.final));
      const interim = rows.filter((r) => !r.final);
      const last = rows.find((r) => r.final);
      // One connection: interim reports (about one a second) then the final one, all under one flow id,
      // each carrying the counts so far.
      expect(new Set(rows.map((r) => r.flow_id)).size).toBe(1);
      expect(interim.length).toBeGreaterThanOrEqual(2);
      expect(interim.length).toBeLessThanOrEqual(4);
      const sent = interim.map((r) => r.bs);
      expect([...sent].sort((a, b) => a - b)).toEqual(sent);
      expect(sent[0]).toBeGreaterThan(0);
      expect(last?.bs).toBeGreaterThanOrEqual(3000); // ~35 writes of 100 bytes, plus the SYN and FIN
      expect(last?.bs).toBeGreaterThan(sent[sent.length - 1] ?? Infinity);
    } finally {
      for (const child of children) child.kill();
      await collector.stop();
    }
  });
});
