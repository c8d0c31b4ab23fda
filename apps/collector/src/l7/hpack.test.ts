/**
 * HPACK decoding against RFC 7541 Appendix C (integers, single fields, three requests and three responses on
 * one connection, with and without Huffman coding, evictions at a 256-octet table), the Huffman code against
 * the RFC's own code column, and the failures that must leave a block undecodable.
 */
import { describe, expect, it } from 'vitest';
import { L7ParseError } from './errors';
import { HpackDecoder, readInt } from './hpack';
import { huffmanCode, huffmanDecode } from './hpack-huffman';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const lit = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);

describe('HPACK integers (C.1)', () => {
  it('decodes 10 on a 5-bit prefix, 1337 on a 5-bit prefix and 42 on 8 bits', () => {
    expect(readInt(Buffer.from([0xea]), { pos: 0 }, 5)).toBe(10);
    const r = { pos: 0 };
    expect(readInt(Buffer.from([0x1f, 0x9a, 0x0a]), r, 5)).toBe(1337);
    expect(r.pos).toBe(3);
    expect(readInt(Buffer.from([42]), { pos: 0 }, 8)).toBe(42);
  });
  it('rejects an integer cut short and one past 2^31', () => {
    expect(() => readInt(Buffer.from([0x1f, 0x9a]), { pos: 0 }, 5)).toThrow(L7ParseError);
    expect(() => readInt(Buffer.from([0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), { pos: 0 }, 5)).toThrow(L7ParseError);
  });
});

describe('HPACK header field representations (C.2)', () => {
  it('literal with indexing adds to the table; without / never indexed do not; indexed reads the static table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).fields).toEqual([
      ['custom-key', 'custom-header'],
    ]);
    expect(d.tableSize).toBe(55);
    expect(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468')).fields).toEqual([[':path', '/sample/path']]);
    expect(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')).fields).toEqual([['password', 'secret']]);
    expect(d.decode(hex('82')).fields).toEqual([[':method', 'GET']]);
    expect(d.tableSize).toBe(55);
  });
});

const requests = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
];

describe('HPACK request sequences on one connection (C.3, C.4)', () => {
  it.each([
    [
      'C.3 plain literals',
      [
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ],
    ],
    [
      'C.4 Huffman',
      [
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ],
    ],
  ])('%s: headers and table after each request', (_name, blocks) => {
    const d = new HpackDecoder();
    const sizes = [57, 110, 164];
    blocks.forEach((b, i) => {
      expect(d.decode(hex(b)).fields).toEqual(requests[i]);
      expect(d.tableSize).toBe(sizes[i]);
    });
    expect(d.tableEntries).toEqual([
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ]);
  });
});

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const responses = [
  [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', 'https://www.example.com'],
  ],
  [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', 'https://www.example.com'],
  ],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', date2],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', cookie],
  ],
];
const finalTable = [
  ['set-cookie', cookie],
  ['content-encoding', 'gzip'],
  ['date', date2],
];

describe('HPACK response sequences with evictions at 256 octets (C.5, C.6)', () => {
  it('C.5 plain literals', () => {
    const d = new HpackDecoder(64 * 1024, 256);
    const first = Buffer.concat([
      hex('48'),
      lit('302'),
      hex('58'),
      lit('private'),
      hex('61'),
      lit(date1),
      hex('6e'),
      lit('https://www.example.com'),
    ]);
    const third = Buffer.concat([hex('88c1 61'), lit(date2), hex('c0 5a'), lit('gzip'), hex('77'), lit(cookie)]);
    const blocks = [first, hex('4803 3330 37c1 c0bf'), third];
    const sizes = [222, 222, 215];
    blocks.forEach((b, i) => {
      expect(d.decode(b).fields).toEqual(responses[i]);
      expect(d.tableSize).toBe(sizes[i]);
    });
    expect(d.tableEntries).toEqual(finalTable);
  });
  it('C.6 Huffman', () => {
    const d = new HpackDecoder(64 * 1024, 256);
    const blocks = [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ];
    blocks.forEach((b, i) => expect(d.decode(hex(b)).fields).toEqual(responses[i]));
    expect(d.tableSize).toBe(215);
    expect(d.tableEntries).toEqual(finalTable);
  });
});

describe('HPACK table size updates and bounds', () => {
  it('a size update evicts; one above what SETTINGS allow fails; an allowed larger one is accepted', () => {
    const d = new HpackDecoder();
    d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    expect(d.tableSize).toBe(57);
    d.decode(hex('20')); // size 0: empties the table
    expect(d.tableSize).toBe(0);
    expect(() => d.decode(hex('be'))).toThrow(/beyond the table/);
    expect(() => d.decode(hex('3fe2 1f'))).toThrow(/above the allowed/); // 4097 > 4096
    d.allowSize(8192);
    d.decode(hex('3fe1 3f')); // 8192
    expect(() => new HpackDecoder(1024).decode(hex('3fe1 1f'))).toThrow(/above the allowed/);
  });
  it('keeps the first maxFields fields and counts the rest (still decoded for the table)', () => {
    const d = new HpackDecoder();
    const r = d.decode(Buffer.concat([hex('8286'), hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')]), 1);
    expect(r).toEqual({ fields: [[':method', 'GET']], dropped: 2 });
    expect(d.tableSize).toBe(55);
  });
  it('rejects index 0, strings past the block and bad Huffman padding', () => {
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(/index 0/);
    expect(() => new HpackDecoder().decode(hex('040c 2f73'))).toThrow(/past the block/);
    expect(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f400'))).toThrow(/padding/);
    expect(() => huffmanDecode(hex('ffff ffff'))).toThrow(L7ParseError); // EOS (30 ones) in the string
  });
});

describe('HPACK Huffman code', () => {
  it('is the canonical code of RFC 7541 Appendix B (spot checks across every length)', () => {
    const rfc: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [47, 0x18, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [60, 0x7ffc, 15],
      [92, 0x7fff0, 19],
      [116, 0x9, 5],
      [126, 0x1ffd, 13],
      [153, 0x1fffdc, 21],
      [199, 0x1ffffec, 25],
      [203, 0x7ffffde, 27],
      [220, 0xffffffd, 28],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of rfc) expect(huffmanCode(sym), `symbol ${sym}`).toEqual([code, len]);
  });
  it('round-trips every octet through an encoder built from the code', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    let bits = '';
    for (const b of all) {
      const [code, len] = huffmanCode(b);
      bits += code.toString(2).padStart(len, '0');
    }
    bits += '1'.repeat((8 - (bits.length % 8)) % 8);
    const bytes = Buffer.from(bits.match(/.{8}/g)!.map((x) => parseInt(x, 2)));
    expect(Buffer.from(huffmanDecode(bytes), 'latin1')).toEqual(all);
  });
});
