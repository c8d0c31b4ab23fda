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
 * block. Found by the "\r\n\r\n" ends in them (a word at a time: only words holding a '\n' are looked at): two
 * of them (a second request's header block, or a body that holds one: either way the full path, which is exact), or
 * one followed by a known method. Requests past the first SX_L7_SCAN_BYTES captured bytes are not seen.
 * A global function with a bounded loop over the scratch record: verified once per program, apart from its callers'
 * states (as a bpf_loop callback inside sx_l7_signals it took object load from ~0.7 s to ~8 s of CPU). Returns the
 * ends found (0-2) | the offset just past the first << 8. */
#define SX_L7_SCAN_BYTES 1024

/* What the scan found, kept in map memory rather than on the stack: the verifier then sees the callback leave the
 * same state whatever it found, and its check converges at once. */
struct sx_crlf_scan {
	__u32 found;     /* header block ends seen */
	__u32 first_end; /* the offset just past the first one */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_crlf_scan);
} sx_l7_scan SEC(".maps");

static long sx_crlf_step(__u64 i, void *ctx)
{
	__u32 captured = *(__u32 *)ctx;
	__u32 zero = 0;
	struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
	struct sx_crlf_scan *c = bpf_map_lookup_elem(&sx_l7_scan, &zero);
	if (!r || !c)
		return 1;
	__u32 off = (i * 8) & (SX_L7_SCAN_BYTES - 1);
	__u64 w = *(__u64 *)&r->data[off];
	__u64 x = w ^ 0x0a0a0a0a0a0a0a0aULL;
	if (!((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL))
		return 0; /* no '\n' in these 8 bytes */
	for (int j = 0; j < 8; j++) {
		__u32 p = off + j;
		if (p >= captured)
			return 1;
		if (p < 3 || r->data[p] != '\n' || r->data[p - 1] != '\r' || r->data[p - 2] != '\n' || r->data[p - 3] != '\r')
			continue;
		if (c->found++)
			return 1;
		c->first_end = p + 1;
	}
	return 0;
}

__noinline int sx_http_header_ends(__u32 captured)
{
	__u32 zero = 0;
	struct sx_crlf_scan *c = bpf_map_lookup_elem(&sx_l7_scan, &zero);
	if (!c)
		return 0;
	c->found = 0;
	c->first_end = 0;
	if (captured > SX_L7_SCAN_BYTES)
		captured = SX_L7_SCAN_BYTES;
	bpf_loop((captured + 7) / 8, sx_crlf_step, &captured, 0);
	__u32 found = c->found > 2 ? 2 : c->found;
	return found | ((c->first_end & 0xffff) << 8);
}

static __always_inline int sx_http_pipelined(struct sx_l7_record *r, __u32 captured)
{
	if (captured < 32 || captured > SX_L7_MAX_CAPTURE)
		return 0; /* two request lines and their header ends take more */
	int v = sx_http_header_ends(captured);
	__u32 found = v & 0xff;
	__u32 first_end = (v >> 8) & 0xffff;
	if (found > 1)
		return 1;
	if (!found || first_end + 8 > captured)
		return 0;
	__u32 e = first_end & (SX_L7_MAX_CAPTURE - 1);
	return sx_http_method(&r->data[e], captured - first_end) != SX_HTTP_METHOD_UNKNOWN;
}
