/**
 * Test helper: HTTP/2 bytes built by hand — a frame (9-byte header + payload) and an HPACK header block of
 * literals without indexing with new names, so that no block depends on the dynamic table. Test use only.
 */

/** An HTTP/2 frame of `type` with `flags` on `stream`. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK integer with a 7-bit prefix (a string length, Huffman bit clear). */
function hpackInt(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  for (n -= 127; n >= 128; n >>= 7) out.push((n & 0x7f) | 0x80);
  return Buffer.from([...out, n]);
}

const hpackString = (s: string) => Buffer.concat([hpackInt(Buffer.byteLength(s, 'latin1')), Buffer.from(s, 'latin1')]);

/** A header block of literal fields without indexing, new names (the block leaves the dynamic table as it was). */
export const literalBlock = (fields: readonly [string, string][]): Buffer =>
  Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0]), hpackString(n), hpackString(v)]));
