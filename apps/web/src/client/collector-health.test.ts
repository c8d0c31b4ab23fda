import { describe, expect, it } from 'vitest';
import { eventsPerSecondText, slowEdgesText, spoolLoss, unparsedShare } from './collector-health';

describe('collector health as shown', () => {
  it('gives the unparsed share of captured L7 bytes, with the amounts in the title', () => {
    expect(unparsedShare({ parsedBytes: 900, unparsedBytes: 100 })).toEqual({
      text: '10 %',
      tone: '',
      title: '100 B unparsed of 1000 B captured',
    });
    expect(unparsedShare({ parsedBytes: 1000, unparsedBytes: 30 }).text).toBe('2.9 %');
    expect(unparsedShare({ parsedBytes: 10_000_000, unparsedBytes: 1 }).text).toBe('< 0.1 %');
    expect(unparsedShare({ parsedBytes: 5, unparsedBytes: 0 }).text).toBe('0 %');
    expect(unparsedShare({ parsedBytes: 100, unparsedBytes: 300 })).toMatchObject({ text: '75 %', tone: 'warn' });
  });

  it('says so when nothing was captured, instead of 0 %', () => {
    expect(unparsedShare({ parsedBytes: 0, unparsedBytes: 0 }).text).toBe('–');
    expect(unparsedShare(null).title).toBe('no L7 bytes captured yet');
  });

  it('says how many edges have their own slow threshold, and – for a collector that does not report it', () => {
    expect(slowEdgesText({ details: { l7SlowEdges: 1024 } })).toBe('1,024');
    expect(slowEdgesText({ details: { l7SlowEdges: 0 } })).toBe('0');
    expect(slowEdgesText({ details: {} })).toBe('–');
    expect(slowEdgesText(null)).toBe('–');
  });

  it('prints events/s', () => {
    expect(eventsPerSecondText({ eventsPerSecond: 12.5 })).toBe('12.5');
    expect(eventsPerSecondText({ eventsPerSecond: 1234.5 })).toBe('1,235');
    expect(eventsPerSecondText({})).toBe('–');
  });

  it('says what a full spool lost: records shed (amber), aggregates dropped (red)', () => {
    expect(spoolLoss({ details: { spoolShedRecords: 0, spoolDroppedAggregates: 0 } })).toEqual({ tone: '', title: undefined });
    expect(spoolLoss(null).tone).toBe('');
    expect(spoolLoss({ details: { spoolShedRecords: 12_000 } })).toEqual({
      tone: 'warn',
      title: 'since the collector started, its full spool shed 12,000 records (TCP connection flows, L7 records; their aggregates kept)',
    });
    expect(
      spoolLoss({ details: { spoolShedRecords: 9, spoolDroppedAggregates: 3, spoolDroppedExchanges: 4100, spoolDroppedHistograms: 2 } }),
    ).toEqual({
      tone: 'bad',
      title:
        'since the collector started, its full spool shed 9 records (TCP connection flows, L7 records; their aggregates kept), then dropped 3 aggregate rows (4,100 requests) and 2 latency histograms',
    });
  });
});
