/**
 * Names under connection churn, on the real kernel: wrk makes a new connection per request (Connection:
 * close) to nginx on loopback at thousands of connections a second for a few seconds; the collector captures
 * the client sockets' HTTP exchanges and ships them into PostgreSQL. Every stored exchange must name nginx as
 * its server (never the bare 127.0.0.1) and the answered exchanges must equal wrk's own count of completed
 * requests — exactly, when the collector lost nothing; otherwise the naming holds over what was stored. In full
 * mode each exchange is a record; in signals mode (the default) the kernel's aggregates count them and name
 * their server the same way, and the few records kept name it too.
 */
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import { has, kernelRig, run, settle } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-churn-test');
/** The collector's default: kernel histograms drained every 10 s (not the rig's 1 s), as in production under churn. */
const histogramIntervalMs = 10_000;

/** wrk's connections: at most this many requests are in flight when it stops. */
const CONNS = 64;
const rows = (sql: string, params: unknown[] = []) => rig.rows(sql, params);

describe.skipIf(rig.skip)('L7 names under connection churn', () => {
  it.for(['full', 'signals'] as const)(
    'names nginx as the server of every exchange of a new connection per request, counts exact against wrk (%s mode)',
    async (mode, t) => {
      if (
        missingPrerequisite(
          (await has('nginx')) && (await has('wrk')),
          'nginx or wrk is not installed (bash scripts/install-system-deps.sh test)',
        )
      )
        return t.skip();
      // Two workers: the master called listen(), the workers accept and answer.
      const { port, process: nginx } = await rig.nginx('location / { return 200 "ok\\n"; }', {
        workers: 2,
        connections: 4096,
        errorLog: 'crit',
      });
      const collector = await rig.startCollector({ l7Mode: mode, histogramIntervalMs });
      // Edges are per service pair: the other mode's run of this test added to the same rows.
      const edgeTotal = `SELECT coalesce(sum(requests), 0)::int AS n FROM edge_minute WHERE src_service = 'wrk' AND protocol = 'http' AND status_class <> 'none'`;
      const answeredBefore = mode === 'full' ? 0 : ((await rows(edgeTotal))[0].n as number);
      // A bounded run: 3 s of new connections, flat out (≈ 20–35k connections, 6–12k/s on 2 cores); SEXTANT_CHURN_SECONDS
      // lengthens it (20 s at 11k/s: 223,264 requests, all named, with the rings overflowing).
      const out = (
        await run('wrk', [
          '-t2',
          `-c${CONNS}`,
          `-d${process.env.SEXTANT_CHURN_SECONDS ?? 3}s`,
          '-H',
          'Connection: close',
          `http://127.0.0.1:${port}/`,
        ])
      ).stdout;
      const completed = Number(/(\d+) requests in/.exec(out)?.[1]);
      const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      expect(completed).toBeGreaterThan(0);
      // Answered exchanges of wrk: records in full mode; in signals mode edge rows (aggregates, plus records of
      // sockets on the full path), whose status class is not 'none' (an unanswered request's).
      const answered =
        mode === 'full'
          ? `SELECT count(*)::int AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http' AND type = 'RESPONSE'`
          : edgeTotal;
      await waitFor(
        async () => ((await rows(answered, mode === 'full' ? [port] : []))[0].n as number) - answeredBefore,
        (n) => n >= completed,
        40_000,
      );
      // Connections wrk left open at its end close with it: 1 s for their close events to arrive; the collector's
      // stop() then flushes their unanswered requests (without waiting the 2 s quiet period it gives late data).
      await settle();
      const c = collector.counters()!;
      const lost = c.ringbufFull + c.queueDroppedRecords + c.sockMapFull + c.l7RingbufFull + c.l7SockMapFull + c.l7ArgsMapFull;
      // (the aggregates depend on the L7 side only: the TCP ring may overflow at these rates)
      const lostL7 = c.l7RingbufFull + c.l7SockMapFull + c.l7ArgsMapFull;
      await collector.stop();
      nginx.kill('SIGQUIT');

      // Exchanges of this server's connections, whichever end reported them (a server socket taken for a
      // client would report nginx as the source and its client's port as the destination).
      const mine = `(dst_port = $1 OR src_port = $1) AND protocol = 'http'`;
      const byServer = await rows(`SELECT dst_service, type, count(*)::int AS n FROM l7_events WHERE ${mine} GROUP BY 1, 2 ORDER BY 1, 2`, [
        port,
      ]);
      console.log(
        `wrk: ${completed} requests at ${rate} connections/s; lost kernel events ${lost}; stored by server: ${JSON.stringify(byServer)}`,
      );
      // Every stored exchange names nginx as its server, and wrk (or nothing) as its client.
      expect(byServer.filter((r) => r.dst_service !== 'nginx')).toEqual([]);
      const clients = await rows(`SELECT DISTINCT src_process FROM l7_events WHERE ${mine}`, [port]);
      expect(clients.map((r) => r.src_process)).toEqual(['wrk']);
      const responses = byServer.find((r) => r.type === 'RESPONSE')?.n ?? 0;
      if (mode === 'signals') {
        // Every edge of wrk's HTTP names nginx as the server, and counts exactly what wrk completed.
        const edges = await rows(
          `SELECT dst_service, status_class, sum(requests)::int AS n FROM edge_minute WHERE src_service = 'wrk' AND protocol = 'http' GROUP BY 1, 2 ORDER BY 1, 2`,
        );
        console.log(`signals: edges ${JSON.stringify(edges)}; L7 lost ${lostL7}`);
        expect(edges.filter((e) => e.dst_service !== 'nginx')).toEqual([]);
        const answeredEdges = edges.filter((e) => e.status_class !== 'none');
        expect(answeredEdges.map((e) => e.status_class)).toEqual(['2xx']);
        if (lostL7 === 0) expect(answeredEdges[0].n - answeredBefore).toBe(completed);
        // The records kept are a sample (budget 500/s), each marked so; only unanswered requests take the full path.
        const kept = await rows(`SELECT sampling, type, count(*)::int AS n FROM l7_events WHERE ${mine} GROUP BY 1, 2 ORDER BY 1, 2`, [
          port,
        ]);
        for (const k of kept) expect([k.sampling, k.type]).toEqual(k.sampling === null ? [null, 'REQUEST'] : ['sampled', 'RESPONSE']);
        expect(responses).toBeLessThan(completed);
        return;
      }
      if (lost === 0) {
        // Nothing lost: every request wrk completed is one answered exchange, and only those requests in flight
        // when wrk stopped (at most one per connection) are unanswered.
        expect(responses).toBe(completed);
        expect(byServer.find((r) => r.type === 'REQUEST')?.n ?? 0).toBeLessThanOrEqual(CONNS);
        const statuses = await rows(`SELECT http_code, count(*)::int AS n FROM l7_events WHERE ${mine} AND type = 'RESPONSE' GROUP BY 1`, [
          port,
        ]);
        expect(statuses).toEqual([{ http_code: 200, n: completed }]);
      } else {
        expect(responses).toBeLessThanOrEqual(completed);
      }
    },
  );
  it('keeps the status of a POST its server answered early and reset: the client reads the response after the close', async () => {
    // The server answers before reading the 200 KB body and destroys the socket: the unread body makes its
    // kernel send an RST, the client's socket is closed (TCP_CLOSE) before it reads the queued response.
    const server = rig.node(`
const s = require('http').createServer((q, r) => { r.writeHead(413, { connection: 'close' }); r.end('too big'); setTimeout(() => q.socket.destroy(), 5); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
    const port = Number(await new Promise<string>((r) => server.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
    const collector = await rig.startCollector({ histogramIntervalMs });
    const posts = 20;
    const client = rig.node(
      `
const net = require('net');
const port = Number(process.argv[1]);
(async () => {
  let answered = 0;
  for (let k = 0; k < ${posts}; k++) await new Promise((done) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('POST /upload HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 200000\\r\\n\\r\\n' + 'x'.repeat(200000)));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', () => {});
    s.on('close', () => { if (got.startsWith('HTTP/1.1 413')) answered++; done(); });
  });
  console.log(answered);
})();`,
      [String(port)],
    );
    const answeredByClient = Number(await new Promise<string>((r) => client.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
    const q = `SELECT count(*)::int AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`;
    await waitFor(
      async () => (await rows(q, [port]))[0].n as number,
      (n) => n >= answeredByClient,
      20_000,
    );
    await settle(); // the close events arrive; stop() flushes any unanswered request of a closed connection
    await collector.stop();
    server.kill();
    expect(answeredByClient).toBe(posts);
    const got = await rows(
      `SELECT type, http_method, http_code, dst_service, count(*)::int AS n FROM l7_events WHERE dst_port = $1 GROUP BY 1, 2, 3, 4`,
      [port],
    );
    expect(got).toEqual([{ type: 'RESPONSE', http_method: 'POST', http_code: 413, dst_service: 'node', n: posts }]);
    // Each record, its response read after its connection's close, joins that connection's own final flow row.
    const joined = await rows(
      `SELECT count(DISTINCT l.event_id)::int AS n FROM l7_events l
         JOIN flows f ON f.flow_id = l.flow_id AND f.final AND f.src_port = l.src_port AND f.dst_port = l.dst_port
        WHERE l.dst_port = $1`,
      [port],
    );
    expect(joined).toEqual([{ n: posts }]);
  });
});
