import { describe, expect, it } from 'vitest';
import { flowFromRow, l7FromRow, usFromTimestampText } from './read-rows';

const base = { node_name: 'n', src_ip: '127.0.0.1', dst_ip: '127.0.0.1', src_port: 40000, dst_port: 80 };

describe('rows read back', () => {
  it('keeps end times to the microsecond, so a sub-millisecond record never reads as a negative duration', () => {
    expect(usFromTimestampText('2025-01-02T03:04:05.123999+00:00')).toBe(1735787045123999);
    expect(usFromTimestampText('2025-01-02T03:04:05+00:00')).toBe(1735787045000000);
    expect(usFromTimestampText('2025-01-02T03:04:05.5+00:00')).toBe(1735787045500000);
    // a 40 µs refused connect: start and end in the same millisecond, the end's sub-ms digits above the start's
    const f = flowFromRow({
      ...base,
      flow_id: 'f',
      verdict: 'DROPPED',
      l4_protocol: 'TCP',
      tcp_flags: 0,
      t_us: 1735787045123950,
      end_time: '2025-01-02T03:04:05.123990+00:00',
      end_us: 1735787045123000,
    });
    expect(f.endTime! - f.time).toBeGreaterThan(0);
    expect(f.endTime! - f.time).toBeCloseTo(0.04, 3); // epoch ms in a double: ~0.25 µs resolution
  });

  it('gives L7 endpoints no pid where none is stored, instead of 0', () => {
    const e = l7FromRow({
      ...base,
      event_id: 'e',
      flow_id: 'f',
      t_us: 1,
      type: 'RESPONSE',
      protocol: 'http',
      detail: {},
      src_process: 'curl',
      dst_process: 'nginx',
    });
    expect(e.source.process).toEqual({ name: 'curl' });
    expect(e.destination.process).toEqual({ name: 'nginx' });
    const f = flowFromRow({
      ...base,
      flow_id: 'f',
      verdict: 'FORWARDED',
      l4_protocol: 'TCP',
      tcp_flags: 0,
      t_us: 1,
      src_process: 'curl',
      src_pid: 42,
    });
    expect(f.source.process).toEqual({ pid: 42, name: 'curl' });
  });
});
