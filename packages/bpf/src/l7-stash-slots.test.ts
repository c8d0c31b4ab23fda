/**
 * The signals mode's stash slots on the real kernel (sx_l7_stash, docs/l7-line-rate.md): a fixed array of 8,192
 * slots, a socket's request stashed in one of four picked by a hash of its address. More sockets than slots pass
 * through in waves: each gives its slot back at its close, and when the closes are never seen (the programs detached
 * meanwhile) the next sockets at the same addresses take them back, and a slot whose owner is no live socket is
 * taken again. Every exchange is aggregated and none goes to the full path.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAddon, type MapInfo } from './native';
import { kernelMissing } from './testing/kernel';
import { aggregates, clientRecords, counts, probes, request, sleep, start, stop } from './testing/l7-signals-rig';

const noKernel = kernelMissing();
const PER_SMALL = 200;

afterEach(stop);

/** WAVES waves of PER new keep-alive connections at once, one GET /ok each, then all closed; `between` runs around
 * the closes (e.g. the probes paused). */
async function waves(port: number, WAVES: number, PER: number, around?: { before: () => void; after: () => void }) {
  for (let w = 0; w < WAVES; w++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: PER });
    const statuses = await Promise.all(Array.from({ length: PER }, (_, i) => request(port, agent, 'GET', `/ok/${w}/${i}`)));
    expect(statuses).toEqual(Array(PER).fill(200));
    around?.before();
    agent.destroy();
    await sleep(20); // the FINs go out and the sockets reach TCP_CLOSE
    around?.after();
  }
}

describe.skipIf(noKernel)('L7 signals mode: stash slots', () => {
  it('gives a socket its slot back at close: 9,000 connections in waves of 200 (more than the 8,192 slots), every exchange aggregated, none on the full path', async () => {
    const { port } = await start('signals', 0);
    const WAVES = 45;
    const PER = 200;
    await waves(port, WAVES, PER);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': WAVES * PER });
    expect(probes().readCounters().l7StashFull).toBe(0);
    expect(clientRecords(port)).toEqual([]); // a budget of 0 and no errors: nothing recorded, nothing on the full path
  }, 60_000);

  it('gets slots back from sockets whose close was never seen: 9,000 connections closed while the programs were detached, every exchange aggregated, none on the full path', async () => {
    const { port } = await start('signals', 0);
    const WAVES = 45;
    const PER = 200;
    await waves(port, WAVES, PER, { before: () => probes().pause(), after: () => probes().resume() });
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': WAVES * PER });
    expect(probes().readCounters().l7StashFull).toBe(0);
    expect(clientRecords(port)).toEqual([]);
  }, 120_000);

  it('takes a slot whose owner is no live socket: every slot given to an owner that is gone, then 600 connections, every exchange aggregated, none on the full path', async () => {
    const { port } = await start('signals', 0);
    // Every slot owned by a key no socket has (a kernel address that holds no struct sock and has no L7 state), as a
    // socket's close missed while the programs were detached leaves it. The owner is the value's fourth u64 from its end.
    const addon = loadAddon()!;
    const stash = (probes() as unknown as { map(name: string): MapInfo }).map('sx_l7_stash');
    const value = Buffer.alloc(stash.valueSize);
    const key = Buffer.alloc(4);
    for (let i = 0; i < stash.maxEntries; i++) {
      key.writeUInt32LE(i);
      value.writeBigUInt64LE(0xffff_8000_0000_0000n + BigInt(i) * 4096n, stash.valueSize - 32);
      expect(addon.mapUpdate(stash.fd, key, value, 0)).toBe(0);
    }
    await waves(port, 3, PER_SMALL);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 3 * PER_SMALL });
    expect(probes().readCounters().l7StashFull).toBe(0);
    expect(clientRecords(port)).toEqual([]);
  }, 60_000);
});
