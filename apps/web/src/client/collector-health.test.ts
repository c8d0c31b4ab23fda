import { describe, expect, it } from 'vitest';
import { eventsPerSecondText, unparsedShare } from './collector-health';

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

  it('prints events/s', () => {
    expect(eventsPerSecondText({ eventsPerSecond: 12.5 })).toBe('12.5');
    expect(eventsPerSecondText({ eventsPerSecond: 1234.5 })).toBe('1,235');
    expect(eventsPerSecondText({})).toBe('–');
  });
});
