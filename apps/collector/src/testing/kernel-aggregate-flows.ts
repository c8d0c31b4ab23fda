/**
 * Test fixture: flows as the collector builds them from the kernel's aggregate maps (aggregate-flows.ts), made from
 * generated TCP connections: a UDP conversation and a packet drop per connection given (both counted by the kernel
 * over an interval, closed NONE), and a refused connect (a TCP connection's own record, closed REFUSED).
 */
import type { CollectorHealthReportInput, Flow } from '@sextant/shared';

export function udpConversation(f: Flow): Flow {
  return {
    ...f,
    id: crypto.randomUUID(),
    l4Protocol: 'UDP',
    tcpFlags: [],
    closeReason: 'NONE',
    srttUs: undefined,
    connectLatencyNs: undefined,
  };
}

export function packetDrop(f: Flow): Flow {
  return { ...f, id: crypto.randomUUID(), verdict: 'DROPPED', dropReason: 'NO_SOCKET', tcpFlags: [], closeReason: 'NONE', bytesSent: 0 };
}

export function refusedConnect(f: Flow): Flow {
  return {
    ...f,
    id: crypto.randomUUID(),
    verdict: 'DROPPED',
    dropReason: 'CONNECTION_REFUSED',
    tcpFlags: ['SYN', 'RST'],
    closeReason: 'REFUSED',
  };
}

/** A minimal health report as a batch carries it (spooled batches keep theirs when their records are shed). */
export function batchHealth(time: number, hostname = 'node-a'): CollectorHealthReportInput {
  return { time, version: 't', kernel: 'k', hostname, eventsPerSecond: 1, lostEvents: 0, parsedBytes: 0, unparsedBytes: 0, spoolBytes: 0 };
}
