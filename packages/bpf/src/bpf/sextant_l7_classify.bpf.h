// SPDX-License-Identifier: GPL-2.0
/* Protocol inference from the first bytes of a connection (included by sextant_l7.bpf.h): pure functions
 * over captured bytes, no maps. */
#pragma once

static __always_inline int sx_is_http_start(const __u8 *d)
{
	/* Request methods and the status line's "HTTP/1." */
	if (d[0] == 'G' && d[1] == 'E' && d[2] == 'T' && d[3] == ' ')
		return 1;
	if (d[0] == 'P' && d[1] == 'O' && d[2] == 'S' && d[3] == 'T')
		return 1;
	if (d[0] == 'P' && d[1] == 'U' && d[2] == 'T' && d[3] == ' ')
		return 1;
	if (d[0] == 'H' && d[1] == 'E' && d[2] == 'A' && d[3] == 'D')
		return 1;
	if (d[0] == 'D' && d[1] == 'E' && d[2] == 'L' && d[3] == 'E')
		return 1;
	if (d[0] == 'P' && d[1] == 'A' && d[2] == 'T' && d[3] == 'C')
		return 1;
	if (d[0] == 'O' && d[1] == 'P' && d[2] == 'T' && d[3] == 'I')
		return 1;
	if (d[0] == 'H' && d[1] == 'T' && d[2] == 'T' && d[3] == 'P' && d[4] == '/' && d[5] == '1')
		return 1;
	return 0;
}

/* A client's HTTP/2 connection preface: "PRI * HTTP/2.0\r\n" (then "\r\nSM\r\n\r\n"). */
static __always_inline int sx_is_http2_preface(const __u8 *d)
{
	return d[0] == 'P' && d[1] == 'R' && d[2] == 'I' && d[3] == ' ' && d[4] == '*' && d[5] == ' ' && d[6] == 'H' && d[7] == 'T' &&
	       d[8] == 'T' && d[9] == 'P' && d[10] == '/' && d[11] == '2' && d[12] == '.' && d[13] == '0' && d[14] == '\r' && d[15] == '\n';
}

/* One HTTP/2 frame header (RFC 9113 sections 4.1 and 6) as peers send it with default settings: a length within the
 * default SETTINGS_MAX_FRAME_SIZE, a known type with only its own flags, its stream-id rule and its fixed length. */
static __always_inline int sx_is_http2_frame_header(const __u8 *d)
{
	__u32 flen = ((__u32)d[0] << 16) | ((__u32)d[1] << 8) | d[2];
	__u8 type = d[3];
	__u8 flags = d[4];
	int sid = d[5] || d[6] || d[7] || d[8];
	if ((d[5] & 0x80) || flen > 16384)
		return 0;
	switch (type) {
	case 0: /* DATA: END_STREAM, PADDED */
		return sid && !(flags & ~0x09);
	case 1: /* HEADERS: END_STREAM, END_HEADERS, PADDED, PRIORITY */
		return sid && !(flags & ~0x2d);
	case 2: /* PRIORITY */
		return sid && flen == 5 && !flags;
	case 3: /* RST_STREAM */
		return sid && flen == 4 && !flags;
	case 4: /* SETTINGS, or its ACK */
		return !sid && (flags == 0 ? flen % 6 == 0 : flags == 1 && flen == 0);
	case 5: /* PUSH_PROMISE: END_HEADERS, PADDED */
		return sid && !(flags & ~0x0c);
	case 6: /* PING */
		return !sid && flen == 8 && !(flags & ~0x01);
	case 7: /* GOAWAY */
		return !sid && flen >= 8 && !flags;
	case 8: /* WINDOW_UPDATE */
		return flen == 4 && !flags;
	case 9: /* CONTINUATION: END_HEADERS */
		return sid && !(flags & ~0x04);
	}
	return 0;
}

/* Frames walked per chunk by sx_is_http2_frames. */
#define SX_H2_MAX_FRAMES 4

/* Whether a chunk of len bytes (captured of them at d) is a run of whole HTTP/2 frames: each header within the
 * capture valid, and the last frame ending exactly at the chunk's end (unless the walk stopped at the end of a
 * capture shorter than the chunk, or after SX_H2_MAX_FRAMES frames). A frame header mid-stream is 9 bytes of
 * binary: the exact end is what tells it from other binary protocols' length-prefixed messages. */
static __always_inline int sx_is_http2_frames(const __u8 *d, __u32 captured, __u32 len)
{
	__u32 off = 0;
	for (int i = 0; i < SX_H2_MAX_FRAMES; i++) {
		if (off >= len)
			break;
		if (off + 9 > captured)
			return i > 0 && captured < len; /* the next header lies past the capture (not a chunk's partial frame) */
		__u32 o = off;
		sx_bound(o);
		if (!sx_is_http2_frame_header(d + o))
			return 0;
		off += 9 + (((__u32)d[o] << 16) | ((__u32)d[o + 1] << 8) | d[o + 2]);
	}
	return off <= len;
}

/* A DNS header at d: one question, standard query opcode, sane counts. */
static __always_inline int sx_is_dns_header(const __u8 *d, __u32 len)
{
	if (len < 17)
		return 0;
	__u8 opcode = (d[2] >> 3) & 0xf;
	__u16 qd = ((__u16)d[4] << 8) | d[5];
	__u16 an = ((__u16)d[6] << 8) | d[7];
	__u16 ns = ((__u16)d[8] << 8) | d[9];
	__u16 ar = ((__u16)d[10] << 8) | d[11];
	int qr = d[2] >> 7;
	if (opcode != 0 || qd != 1 || (d[3] & 0x40))
		return 0;
	if (!qr && (an != 0 || ns != 0 || ar > 2))
		return 0;
	return an < 256 && ns < 256 && ar < 256;
}

/* A Kafka request frame: int32 size, int16 api key, int16 version, int32 correlation id. */
static __always_inline int sx_is_kafka_request(const __u8 *d, __u32 len)
{
	if (len < 12)
		return 0;
	__u32 size = ((__u32)d[0] << 24) | ((__u32)d[1] << 16) | ((__u32)d[2] << 8) | d[3];
	__u16 key = ((__u16)d[4] << 8) | d[5];
	__u16 ver = ((__u16)d[6] << 8) | d[7];
	if (size < 8 || size > (64 << 20) || d[8] & 0x80)
		return 0;
	return key <= 90 && ver <= 20;
}

/* A TLS handshake record (ClientHello, or a server's first record): content type 22, version 3.0-3.4. */
static __always_inline int sx_is_tls_record(const __u8 *d, __u32 len)
{
	return len >= 3 && d[0] == 0x16 && d[1] == 0x03 && d[2] <= 0x04;
}

/* Protocol of a connection from the first bytes it carried; UNKNOWN when too short to tell. */
static __always_inline __u8 sx_classify(const __u8 *d, __u32 len, __u16 l4, __u16 sport, __u16 dport)
{
	if (len < 8)
		return SX_PROTO_UNKNOWN;
	if (l4 == IPPROTO_UDP)
		return sx_is_dns_header(d, len) || sport == 53 || dport == 53 ? SX_PROTO_DNS : SX_PROTO_NONE;
	if (d[0] == 'P' && d[1] == 'R' && d[2] == 'I' && d[3] == ' ')
		return len < 16 ? SX_PROTO_UNKNOWN : sx_is_http2_preface(d) ? SX_PROTO_HTTP2 : SX_PROTO_NONE;
	if (sx_is_http_start(d))
		return SX_PROTO_HTTP;
	if ((sport == 53 || dport == 53) || (len >= 19 && (((__u32)d[0] << 8) | d[1]) + 2 >= len && sx_is_dns_header(d + 2, len - 2)))
		return SX_PROTO_DNS;
	if (sx_is_kafka_request(d, len))
		return SX_PROTO_KAFKA;
	return len < 12 ? SX_PROTO_UNKNOWN : SX_PROTO_NONE;
}
