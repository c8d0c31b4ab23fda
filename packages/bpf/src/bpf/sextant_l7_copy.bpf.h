// SPDX-License-Identifier: GPL-2.0
/* Copying what a send/receive call moved into the per-CPU scratch record (included by sextant_l7.bpf.h, used by
 * sx_l7_emit and the in-kernel aggregation paths): a plain buffer, or the first iovecs of a message. */
#pragma once

/* The iovec walk is a global function: the verifier checks it once per program, on its own, instead of once
 * per path through sx_l7_emit (the caller sees an unknown return value, clamped). The record is the per-CPU
 * scratch, looked up again here (global functions take scalars). Returns the bytes copied. */
__noinline int sx_l7_copy_iov(__u64 buf, __u32 iovcnt, __u32 want)
{
	__u32 zero = 0;
	struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
	if (!r)
		return 0;
	if (want > SX_L7_MAX_CAPTURE)
		want = SX_L7_MAX_CAPTURE;
	struct iovec *iov = (struct iovec *)buf;
	__u32 off = 0;
	for (int i = 0; i < SX_L7_MAX_IOV; i++) {
		if (i >= iovcnt || off >= want)
			break;
		struct iovec v = {};
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		if (!v.iov_len)
			continue;
		__u32 n = v.iov_len < want - off ? (__u32)v.iov_len : want - off;
		sx_bound(n);
		__u32 o = off & (SX_L7_MAX_CAPTURE - 1);
		if (bpf_probe_read_user(&r->data[o], n, v.iov_base))
			break;
		off += n;
	}
	return off;
}

/* Copies the first bytes of one message (a plain buffer, or an iovec array) into the scratch record. */
static __always_inline __u32 sx_l7_copy(struct sx_l7_record *r, __u64 buf, __u32 iovcnt, __u8 kind, __u32 want)
{
	if (kind == SX_ARGS_BUF) {
		__u32 n = want;
		if (n > SX_L7_MAX_CAPTURE)
			n = SX_L7_MAX_CAPTURE;
		sx_bound(n);
		if (bpf_probe_read_user(r->data, n, (void *)buf))
			return 0;
		return n;
	}
	int off = sx_l7_copy_iov(buf, iovcnt, want);
	return off < 0 ? 0 : off > SX_L7_MAX_CAPTURE ? SX_L7_MAX_CAPTURE : (__u32)off;
}
