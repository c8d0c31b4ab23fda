import { describe, expect, it } from 'vitest';
import { applyCompletion, completeFilter } from './filter-complete';

const services = [
  { name: 'web-api', namespace: 'shop' },
  { name: 'payments', namespace: 'shop' },
  { name: 'postgres', namespace: 'db' },
  { name: 'curl', namespace: '' },
];

describe('filter line autocomplete', () => {
  it('offers known services after a service flag, prefix matches first', () => {
    const text = '--to-service p';
    const c = completeFilter(text, text.length, services);
    expect(c).toEqual({ from: 13, to: 14, options: ['payments', 'postgres', 'web-api'] });
    expect(applyCompletion(text, c as NonNullable<typeof c>, 'payments')).toEqual({ text: '--to-service payments ', caret: 22 });
  });

  it('offers flag names while typing a flag, and values for enumerations', () => {
    expect(completeFilter('--ht', 4, services)?.options).toEqual(['--http-status', '--http-method', '--http-path']);
    expect(completeFilter('--verdict D', 11, services)?.options).toEqual(['DROPPED', 'FORWARDED', 'AUDIT']); // prefix first, then substring
    expect(completeFilter('--namespace ', 12, services)?.options).toEqual(['shop', 'db']);
  });

  it('completes in the middle of the line without eating the rest', () => {
    const text = '--from-service cu --http-status 5+';
    const c = completeFilter(text, 17, services);
    expect(c?.options).toEqual(['curl']);
    expect(applyCompletion(text, c as NonNullable<typeof c>, 'curl').text).toBe('--from-service curl --http-status 5+');
  });

  it('stays quiet for free values and exact matches', () => {
    expect(completeFilter('--http-path /api', 16, services)).toBeNull();
    expect(completeFilter('--to-service curl', 17, services)).toBeNull();
    expect(completeFilter('', 0, services)).toBeNull();
  });
});
