/**
 * HPACK's Huffman code (RFC 7541 Appendix B) for decoding string literals. The code is canonical, so the
 * table is its code lengths per symbol (0–255, then EOS = 256); codes follow from the lengths.
 */
import { L7ParseError } from './errors';

/** Code length in bits of each symbol, in symbol order (RFC 7541 Appendix B, the "len" column). */
// prettier-ignore
const LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;
const MAX_LEN = 30;

/** Canonical decoding tables: per length, the first code, how many codes, and where their symbols start. */
const firstCode = new Int32Array(MAX_LEN + 2);
const countOf = new Int32Array(MAX_LEN + 2);
const startOf = new Int32Array(MAX_LEN + 2);
const symbols: number[] = [];
{
  for (let len = 1; len <= MAX_LEN; len++) {
    startOf[len] = symbols.length;
    for (let s = 0; s < LENGTHS.length; s++) if (LENGTHS[s] === len) symbols.push(s);
    countOf[len] = symbols.length - startOf[len]!;
  }
  let code = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstCode[len] = code;
    code = (code + countOf[len]!) * 2;
  }
}

/** The code of a symbol as [code, bits] (tests check it against the RFC's hex column). */
export function huffmanCode(symbol: number): [number, number] {
  const len = LENGTHS[symbol]!;
  return [firstCode[len]! + symbols.indexOf(symbol, startOf[len]!) - startOf[len]!, len];
}

/** Decodes a Huffman-coded string literal to latin1 text (one char per octet). Throws L7ParseError. */
export function huffmanDecode(buf: Buffer): string {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (let i = 0; i < buf.length; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      code = code * 2 + ((byte >> b) & 1);
      len++;
      const k = code - firstCode[len]!;
      if (k < countOf[len]!) {
        const sym = symbols[startOf[len]! + k]!;
        if (sym === EOS) throw new L7ParseError('hpack: EOS inside a Huffman string');
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) throw new L7ParseError('hpack: invalid Huffman code');
    }
  }
  // Padding: fewer than 8 bits, all ones (the EOS prefix).
  if (len > 7 || code !== 2 ** len - 1) throw new L7ParseError('hpack: invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}
