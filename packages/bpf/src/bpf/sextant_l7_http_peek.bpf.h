// SPDX-License-Identifier: GPL-2.0
/* What the signals mode reads from an HTTP/1.x chunk's first bytes without parsing it (included by
 * sextant_l7_signals.bpf.h): the request method, the response status, and whether one write holds pipelined requests. */
#pragma once

static __always_inline __u8 sx_http_method(const __u8 *d, __u32 len)
{
	if (len < 8)
		return SX_HTTP_METHOD_UNKNOWN;
	if (d[0] == 'G' && d[1] == 'E' && d[2] == 'T' && d[3] == ' ')
		return SX_HTTP_METHOD_GET;
	if (d[0] == 'P' && d[1] == 'O' && d[2] == 'S' && d[3] == 'T' && d[4] == ' ')
		return SX_HTTP_METHOD_POST;
	if (d[0] == 'P' && d[1] == 'U' && d[2] == 'T' && d[3] == ' ')
		return SX_HTTP_METHOD_PUT;
	if (d[0] == 'D' && d[1] == 'E' && d[2] == 'L' && d[3] == 'E' && d[4] == 'T' && d[5] == 'E' && d[6] == ' ')
		return SX_HTTP_METHOD_DELETE;
	if (d[0] == 'H' && d[1] == 'E' && d[2] == 'A' && d[3] == 'D' && d[4] == ' ')
		return SX_HTTP_METHOD_HEAD;
	if (d[0] == 'P' && d[1] == 'A' && d[2] == 'T' && d[3] == 'C' && d[4] == 'H' && d[5] == ' ')
		return SX_HTTP_METHOD_PATCH;
	if (d[0] == 'O' && d[1] == 'P' && d[2] == 'T' && d[3] == 'I' && d[4] == 'O' && d[5] == 'N' && d[6] == 'S' && d[7] == ' ')
		return SX_HTTP_METHOD_OPTIONS;
	return SX_HTTP_METHOD_UNKNOWN;
}

/* The status of an "HTTP/1.x NNN" line, 0 when it is not one. */
static __always_inline __u16 sx_http_status(const __u8 *d, __u32 len)
{
	if (len < 12)
		return 0;
	if (d[0] != 'H' || d[1] != 'T' || d[2] != 'T' || d[3] != 'P' || d[4] != '/' || d[5] != '1' || d[6] != '.' || d[8] != ' ')
		return 0;
	if (d[9] < '1' || d[9] > '5' || d[10] < '0' || d[10] > '9' || d[11] < '0' || d[11] > '9')
		return 0;
	return (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
}

/* Requests pipelined inside one write: the captured bytes hold a second request after the first one's header
 * block. Found by the "\r\n\r\n" ends in them: two of them (a second request's header block, or a body that holds
 * one: either way the full path, which is exact), or one followed by a known method. Requests past the first
 * SX_L7_SCAN_BYTES captured bytes are not seen.
 * Eight bytes at a time without a branch per byte: a mask of the '\n' bytes and one of the '\r' bytes of each word
 * (exact: no false match past a true one), an end where a '\n' has '\r', '\n', '\r' before it (the previous word's
 * masks carry across). A global function around a bpf_loop: verified once per program, apart from its callers' states
 * (as a plain bounded loop the verifier walked every word: object load ~1.1 -> ~3.3 s of CPU; as a bpf_loop callback
 * inside sx_l7_signals ~8 s). Returns the ends found (0-2) | the offset just past the first << 8. */
#define SX_L7_SCAN_BYTES 1024

/* 0x80 in each byte of w equal to the byte repeated in c8, 0 elsewhere. */
static __always_inline __u64 sx_bytes_eq(__u64 w, __u64 c8)
{
	__u64 x = w ^ c8;
	return ~(((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | x | 0x7f7f7f7f7f7f7f7fULL);
}

/* The scan's state from one word to the next (the bpf_loop callback's context, on the caller's stack). */
struct sx_crlf_scan {
	__u64 nl_prev; /* the previous word's masks */
	__u64 cr_prev;
	__u32 captured;
	__u32 found;     /* header block ends seen (0-2) */
	__u32 first_end; /* the offset just past the first one */
	__u32 pad;
};

static long sx_crlf_step(__u64 i, void *ctx)
{
	struct sx_crlf_scan *c = ctx;
	__u32 zero = 0;
	struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
	if (!r)
		return 1;
	__u32 off = (i * 8) & (SX_L7_SCAN_BYTES - 1);
	/* the data starts 8-byte aligned (after the 112-byte header): one word load, not eight byte loads */
	__u64 w = *(const __u64 *)__builtin_assume_aligned(&r->data[off], 8);
	__u64 nl = sx_bytes_eq(w, 0x0a0a0a0a0a0a0a0aULL);
	__u64 cr = sx_bytes_eq(w, 0x0d0d0d0d0d0d0d0dULL);
	__u32 left = c->captured - off;
	if (left < 8) { /* the bytes past the captured ones are another record's */
		__u64 keep = (1ULL << ((left & 7) * 8)) - 1;
		nl &= keep;
		cr &= keep;
	}
	__u64 e = nl & (cr << 8 | c->cr_prev >> 56) & (nl << 16 | c->nl_prev >> 48) & (cr << 24 | c->cr_prev >> 40);
	c->nl_prev = nl;
	c->cr_prev = cr;
	if (!e)
		return 0;
	if (c->found) {
		c->found = 2;
		return 1;
	}
	c->found = e & (e - 1) ? 2 : 1; /* a second end in the same word */
	__u32 k = 0;                    /* the first end's byte in this word */
	if (!(e & 0xffffffffULL)) {
		k += 4;
		e >>= 32;
	}
	if (!(e & 0xffffULL)) {
		k += 2;
		e >>= 16;
	}
	if (!(e & 0xffULL))
		k += 1;
	c->first_end = off + k + 1;
	return c->found > 1;
}

__noinline int sx_http_header_ends(__u32 captured)
{
	struct sx_crlf_scan c = {};
	if (captured > SX_L7_SCAN_BYTES)
		captured = SX_L7_SCAN_BYTES;
	c.captured = captured;
	bpf_loop((captured + 7) / 8, sx_crlf_step, &c, 0);
	return c.found | ((c.first_end & 0xffff) << 8);
}

/* 1 when x != 0, else 0, without a branch. */
static __always_inline __u64 sx_nz(__u64 x)
{
	return (x | -x) >> 63;
}

#define SX_L7_SHORT_SCAN_WORDS 16

/* sx_http_header_ends for a request of at most SX_L7_SHORT_SCAN_WORDS words (most requests without cookies), unrolled:
 * no call and no state carried through memory per word, the first end's offset and a second end found without a
 * branch per word (the verifier walks it once: a global function). The bytes past the captured ones in the last word
 * are zeroed first, instead of masked (the scratch record's leftovers: never emitted). −29 ns per keep-alive request
 * by rotation against the loop for every length (wrk's 40-byte GET; the whole scan cost ~55). */
__noinline int sx_http_header_ends_short(struct sx_l7_record *r, __u32 captured)
{
	if (!r || captured > SX_L7_SHORT_SCAN_WORDS * 8)
		return 0;
	*(__u64 *)&r->data[captured & 0xff] = 0; /* captured <= 128 here: the word from the first byte past them */
	__u32 n = (captured + 7) / 8;
	__u64 nl_prev = 0, cr_prev = 0, any = 0, many = 0, first = 0;
#pragma unroll
	for (int k = 0; k < SX_L7_SHORT_SCAN_WORDS; k++) {
		if (k >= n)
			continue;
		__u64 w = *(const __u64 *)__builtin_assume_aligned(&r->data[k * 8], 8);
		__u64 nl = sx_bytes_eq(w, 0x0a0a0a0a0a0a0a0aULL);
		__u64 cr = sx_bytes_eq(w, 0x0d0d0d0d0d0d0d0dULL);
		__u64 e = nl & (cr << 8 | cr_prev >> 56) & (nl << 16 | nl_prev >> 48) & (cr << 24 | cr_prev >> 40);
		nl_prev = nl;
		cr_prev = cr;
		/* two ends: two in this word, or one here after one before */
		many |= (e & (e - 1)) | (e & -sx_nz(any));
		/* the byte just past this word's first end (its lowest 0x80 bit's byte), taken when no end came before */
		__u64 byte = (((e & -e) >> 7) * 0x0001020304050607ULL) >> 56;
		first |= (k * 8 + byte + 1) & -(sx_nz(e) & (sx_nz(any) ^ 1));
		any |= e;
	}
	__u32 found = sx_nz(many) ? 2 : (__u32)sx_nz(any);
	return found | ((first & 0xffff) << 8);
}

static __always_inline int sx_http_pipelined(struct sx_l7_record *r, __u32 captured)
{
	if (captured < 32 || captured > SX_L7_MAX_CAPTURE)
		return 0; /* two request lines and their header ends take more */
	int v = captured <= SX_L7_SHORT_SCAN_WORDS * 8 ? sx_http_header_ends_short(r, captured) : sx_http_header_ends(captured);
	__u32 found = v & 0xff;
	__u32 first_end = (v >> 8) & 0xffff;
	if (found > 1)
		return 1;
	if (!found || first_end + 8 > captured)
		return 0;
	__u32 e = first_end & (SX_L7_MAX_CAPTURE - 1);
	return sx_http_method(&r->data[e], captured - first_end) != SX_HTTP_METHOD_UNKNOWN;
}
