/** grafana.export over the real tRPC HTTP path: viewer access, the JSON returned, and clear input errors. */
import { createUser, login } from '@sextant/db';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../root';
import { startHarness, type Harness } from '../testing/api-harness';

let h: Harness;
let viewerToken: string;

beforeAll(async () => {
  h = await startHarness();
  await createUser(h.db.prisma, 'viewer@example.com', 'viewer password', 'viewer');
  const s = await login(h.db.prisma, 'viewer@example.com', 'viewer password');
  if (!s) throw new Error('login failed');
  viewerToken = s.token;
});
afterAll(async () => h?.close());

async function error(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof TRPCClientError)) throw new Error(`expected a tRPC error, got ${String(e)}`);
  return e as TRPCClientError<AppRouter>;
}

describe('grafana.export', () => {
  it('gives a viewer the service dashboard with the service preselected', async () => {
    const d = await h
      .client(viewerToken)
      .grafana.export.query({ dashboard: 'service', flavour: 'postgres', service: 'payments', namespace: 'shop' });
    expect(d.title).toBe('Sextant · Service · payments (PostgreSQL)');
    expect(d.panels?.map((p) => p.title)).toEqual([
      'Requests / s',
      'Error ratio',
      'Connections / s',
      'Latency',
      'Bytes / s',
      'Drops / s',
      'Service map',
    ]);
    const service = d.templating?.list?.find((v) => v.name === 'service');
    expect(service?.current).toEqual({ text: 'payments', value: ['payments'], selected: true });
  });

  it('exports a single panel, the map as a Node Graph with nodes and edges queries', async () => {
    const d = await h.client(viewerToken).grafana.export.query({ dashboard: 'overview', flavour: 'prometheus', panel: 'map' });
    expect(d.panels).toHaveLength(1);
    const p = d.panels?.[0];
    expect(p && 'type' in p ? p.type : null).toBe('nodeGraph');
    expect(p && 'targets' in p ? p.targets?.map((t) => t.refId) : null).toEqual(['nodes', 'edges']);
  });

  it('requires a session', async () => {
    expect((await error(h.client(null).grafana.export.query({ dashboard: 'overview', flavour: 'postgres' }))).data?.code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('rejects bad input naming the field', async () => {
    const c = h.client(viewerToken);
    const bad = await error(c.grafana.export.query({ dashboard: 'overview', flavour: 'influx' } as never));
    expect(bad.data?.code).toBe('BAD_REQUEST');
    expect(bad.message).toMatch(/flavour/);
    const noPanel = await error(c.grafana.export.query({ dashboard: 'map', flavour: 'postgres', panel: 'latency' }));
    expect(noPanel.message).toMatch(/panel: the map dashboard has no latency panel/);
    const bytes = await error(c.grafana.export.query({ dashboard: 'overview', flavour: 'prometheus', panel: 'bytes' }));
    expect(bytes.message).toMatch(/panel: the bytes panel needs the PostgreSQL flavour/);
  });
});
