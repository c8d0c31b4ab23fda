import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { recordId } from './record-ids';

describe('recordId', () => {
  it('makes distinct version-4 UUIDs across pool refills, in the form the wire schema requires', () => {
    const ids = Array.from({ length: 2_000 }, () => recordId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(z.uuid().safeParse(id).success).toBe(true);
    }
    // every hex digit position varies (not a counter or a constant prefix)
    for (const pos of [0, 9, 15, 20, 35]) expect(new Set(ids.map((s) => s[pos])).size).toBeGreaterThan(8);
  });
});
