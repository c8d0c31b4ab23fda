/**
 * Generated hostile requests against every public procedure (ingest, auth, flows.search, flows.tail,
 * hubble.import): malformed JSON, wrong types, oversized and deeply nested bodies, NUL and lone surrogates,
 * boundary numbers, batch abuse. Shared by the hostile-input test and `npm run bench:hostile`.
 */
import { encodeBatch, WIRE_SCHEMA_VERSION, type FlowInput } from '@sextant/shared';

export interface HostileCase {
  name: string;
  method: 'GET' | 'POST';
  /** Path and query after /api/trpc/. */
  path: string;
  body?: string | { bytes: number; fill: number };
  auth: 'none' | 'collector' | 'admin';
  /**
   * 'reject': must be a 4xx. 'poison': valid shape with hostile content (NUL, surrogates, extreme values):
   * 4xx, or 2xx only if stored sanitized; never 5xx (another part of the code decides which).
   */
  expect: 'reject' | 'poison';
  /** The batch id this request carries (when rejected, no receipt and no record of it may exist). */
  batchId?: string;
}

const NASTY_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ud800\u0000\udc00',
  '\uffff',
  '%00',
  '\u202e',
  '\\u0000',
  'A'.repeat(70_000),
];
const NASTY_NUMBERS = [-1, 0, -0, 1e-300, 2 ** 31, 2 ** 53, 2 ** 63, 8.64e15, 8.64e15 + 1, 1e20, 1e300, -1e300, 1.5];
const MALFORMED = [
  '',
  '{',
  '}',
  '[',
  'nul',
  'undefined',
  '{"a":1,}',
  "{'a':1}",
  '\u0000',
  '\ud800',
  '"\\ud800"',
  '{"__proto__":{"admin":true}}',
  '[]',
  'null',
  'true',
  '1e999',
  '"x"',
];

function nested(depth: number, leaf = '0'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth);
}

const uuid = () => crypto.randomUUID();

function flow(overrides: Record<string, unknown> = {}) {
  return {
    id: uuid(),
    time: Date.now() - 60_000,
    verdict: 'FORWARDED',
    source: { ip: '10.0.0.1', port: 40000, service: 'client' },
    destination: { ip: '10.0.0.2', port: 80, service: 'server' },
    l4: 'TCP',
    ...overrides,
  };
}

/** A batch in the wire schema (flows as rows, an endpoint table) of these flows, hostile values kept. */
function push(flows: Record<string, unknown>[]): { body: string; batchId: string } {
  const batchId = uuid();
  const ends = { source: { ip: '10.0.0.1' }, destination: { ip: '10.0.0.2' } };
  return {
    body: JSON.stringify(
      encodeBatch({
        batchId,
        sentAt: Date.now(),
        nodeName: 'node-h',
        flows: flows.map((f) => ({ ...ends, ...f }) as unknown as FlowInput),
      }),
    ),
    batchId,
  };
}

const hubbleLine = (fields: Record<string, unknown>) =>
  JSON.stringify({ flow: { time: new Date(Date.now() - 60_000).toISOString(), verdict: 'FORWARDED', ...fields } });

export function hostileCases(opts: { heavy?: boolean } = {}): HostileCase[] {
  const cases: HostileCase[] = [];
  const post = (
    name: string,
    path: string,
    body: HostileCase['body'],
    auth: HostileCase['auth'],
    expect: HostileCase['expect'] = 'reject',
    batchId?: string,
  ) => cases.push({ name, method: 'POST', path, body, auth, expect, batchId });
  const get = (name: string, path: string, input: string, auth: HostileCase['auth']) =>
    cases.push({ name, method: 'GET', path: `${path}?input=${encodeURIComponent(input)}`, auth, expect: 'reject' });

  for (const [path, auth] of [
    ['auth.login', 'none'],
    ['ingest.push', 'collector'],
    ['ingest.push', 'none'],
    ['hubble.import', 'admin'],
    ['hubble.import', 'none'],
  ] as const) {
    MALFORMED.forEach((m, i) => post(`${path}/${auth} malformed #${i}`, path, m, auth));
    post(`${path}/${auth} nested 40`, path, nested(40), auth);
    post(`${path}/${auth} nested 30k`, path, nested(30_000), auth);
    post(`${path}/${auth} nested objects 20k`, path, '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), auth);
    post(`${path}/${auth} 20 MiB spaces`, path, { bytes: 20 * 1024 * 1024, fill: 0x20 }, auth);
    post(`${path}/${auth} 20 MiB of [`, path, { bytes: 20 * 1024 * 1024, fill: 0x5b }, auth);
  }
  post('auth.login 1 MiB spaces', 'auth.login', { bytes: 1024 * 1024, fill: 0x20 }, 'none');
  for (const s of NASTY_STRINGS) {
    post(
      `auth.login email ${JSON.stringify(s.slice(0, 12))}`,
      'auth.login',
      JSON.stringify({ email: `${s}@example.com`, password: 'x' }),
      'none',
    );
    post(
      `auth.login password ${JSON.stringify(s.slice(0, 12))}`,
      'auth.login',
      JSON.stringify({ email: 'admin@example.com', password: s }),
      'none',
    );
  }
  for (const v of [null, 1, true, [], {}, 1e308])
    post(`auth.login email ${JSON.stringify(v)}`, 'auth.login', JSON.stringify({ email: v, password: v }), 'none');
  post(
    'auth.login batch of 100',
    'auth.login,'.repeat(99) + 'auth.login?batch=1',
    JSON.stringify(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [i, { email: 'a@b.c', password: 'x' }]))),
    'none',
  );
  post('unknown procedure', 'nope.nothing', '{}', 'none');
  post('bad procedure path', '..%2F..%2Fetc', '{}', 'none');

  // Ingest with hostile content: strings and numbers in every slot a flow has.
  for (const s of NASTY_STRINGS.slice(0, 9)) {
    const p = push([flow({ source: { ip: '10.0.0.1', port: 1, service: s, processName: s } })]);
    post(`ingest.push service ${JSON.stringify(s)}`, 'ingest.push', p.body, 'collector', 'poison', p.batchId);
    const q = push([flow({ destination: { ip: s, port: 80 } })]);
    post(`ingest.push ip ${JSON.stringify(s)}`, 'ingest.push', q.body, 'collector', 'poison', q.batchId);
  }
  for (const n of NASTY_NUMBERS) {
    const p = push([flow({ time: n })]);
    post(`ingest.push time ${n}`, 'ingest.push', p.body, 'collector', 'poison', p.batchId);
    const q = push([flow({ source: { ip: '10.0.0.1', port: n } })]);
    post(`ingest.push port ${n}`, 'ingest.push', q.body, 'collector', 'poison', q.batchId);
    post(
      `ingest.push sentAt ${n}`,
      'ingest.push',
      JSON.stringify({ schemaVersion: WIRE_SCHEMA_VERSION, batchId: uuid(), sentAt: n, nodeName: 'node-h' }),
      'collector',
      'poison',
    );
  }
  for (const v of [0, 1, 2, 4, -1, 1e9, '3', null])
    post(
      `ingest.push schemaVersion ${v}`,
      'ingest.push',
      JSON.stringify({ schemaVersion: v, batchId: uuid(), sentAt: Date.now() }),
      'collector',
    );
  for (const id of ['', 'not-a-uuid', '\u0000', 'A'.repeat(10_000)])
    post(
      `ingest.push batchId ${JSON.stringify(id.slice(0, 12))}`,
      'ingest.push',
      JSON.stringify({ schemaVersion: WIRE_SCHEMA_VERSION, batchId: id, sentAt: Date.now(), nodeName: 'node-h' }),
      'collector',
    );
  const over = push(Array.from({ length: 20_001 }, () => ({ id: uuid() })));
  post('ingest.push 20,001 flows (over the batch limit)', 'ingest.push', over.body, 'collector', 'reject', over.batchId);
  // Malformed records within the limit cost zod ~1 s and ~150 MB per 20,000 (an issue list per record):
  // the bench sends that many, the test a tenth, so a loaded test machine is not measured instead of the code.
  const malformed = push(Array.from({ length: opts.heavy ? 20_000 : 2_000 }, () => ({ id: uuid() })));
  post(
    `ingest.push ${opts.heavy ? '20,000' : '2,000'} malformed flows`,
    'ingest.push',
    malformed.body,
    'collector',
    'reject',
    malformed.batchId,
  );
  // One good flow and one poisoned: the whole batch is stored (sanitized) or none of it.
  const mixed = push([flow(), flow({ time: 1e20 })]);
  post('ingest.push one good one bad', 'ingest.push', mixed.body, 'collector', 'poison', mixed.batchId);
  for (const s of NASTY_STRINGS.slice(0, 9)) {
    post(
      `ingest.register hostname ${JSON.stringify(s)}`,
      'ingest.register',
      JSON.stringify({ hostname: s, version: s, kernel: s }),
      'collector',
      'poison',
    );
  }

  // Hubble import lines.
  for (const s of NASTY_STRINGS.slice(0, 9)) {
    post(`hubble.import line ${JSON.stringify(s)}`, 'hubble.import', JSON.stringify({ lines: [s] }), 'admin');
    post(
      `hubble.import pod ${JSON.stringify(s)}`,
      'hubble.import',
      JSON.stringify({
        lines: [hubbleLine({ source: { pod_name: s, namespace: s }, IP: { source: '10.0.0.1', destination: '10.0.0.2' } })],
      }),
      'admin',
      'poison',
    );
  }
  for (const t of ['+010000-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'not a time', '']) {
    post(`hubble.import time ${t}`, 'hubble.import', JSON.stringify({ lines: [hubbleLine({ time: t })] }), 'admin', 'poison');
  }
  for (const v of [0, -1, 1e300, 'x', null])
    post(`hubble.import firstLine ${v}`, 'hubble.import', JSON.stringify({ lines: ['{}'], firstLine: v }), 'admin');
  post('hubble.import 10k lines', 'hubble.import', JSON.stringify({ lines: Array.from({ length: 10_000 }, () => '{}') }), 'admin');
  post('hubble.import no lines', 'hubble.import', JSON.stringify({ lines: [] }), 'admin');

  // Searches and the tail (GET, input in the URL).
  const now = Date.now();
  for (const input of [
    '{',
    nested(200),
    JSON.stringify({ limit: 0 }),
    JSON.stringify({ limit: 1001 }),
    JSON.stringify({ limit: 1e300 }),
    JSON.stringify({ window: { since: now, until: now - 1 } }),
    JSON.stringify({ window: { since: -1 } }),
    JSON.stringify({ window: { since: 0, until: 1e300 } }),
    JSON.stringify({ cursor: 'A'.repeat(201) }),
    JSON.stringify({ cursor: '\u0000' }),
    JSON.stringify({ cursor: 'bm90IGEgY3Vyc29y' }),
    JSON.stringify({ filter: { allow: [{ sourceIp: ['\u0000'] }], deny: [] } }),
    JSON.stringify({ filter: { allow: [{ sourceIp: ['999.1.1.1/99'] }], deny: [] } }),
    JSON.stringify({ filter: { allow: Array.from({ length: 1000 }, () => ({ sourceService: ['a'] })), deny: [] } }),
  ]) {
    get(`flows.search ${input.slice(0, 40)}`, 'flows.search', input, 'admin');
  }
  get('flows.search unauthenticated', 'flows.search', '{}', 'none');
  for (const input of [
    '{',
    nested(200),
    JSON.stringify({ lastEventId: 'x' }),
    JSON.stringify({ lastEventId: '9'.repeat(60) }),
    JSON.stringify({ lastEventId: '\u0000' }),
    JSON.stringify({ since: -1 }),
  ]) {
    get(`flows.tail ${input.slice(0, 40)}`, 'flows.tail', input, 'admin');
  }
  // Numeric bounds of the tail's input belong to the schema (4xx), or the tail starts (never 5xx).
  for (const since of [1e300, 8.64e15, 2 ** 63]) {
    cases.push({
      name: `flows.tail since ${since}`,
      method: 'GET',
      path: `flows.tail?input=${encodeURIComponent(JSON.stringify({ since }))}`,
      auth: 'admin',
      expect: 'poison',
    });
  }
  get('flows.tail unauthenticated', 'flows.tail', '{}', 'none');
  return cases;
}
