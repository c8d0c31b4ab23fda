// SPDX-License-Identifier: GPL-2.0
/* The signals mode's fast path (included by sextant_l7_signals.bpf.h): an aggregated socket's chunk decided from its
 * first bytes before the generic path copies it and fills a record header. */
#pragma once

/* The first 12 bytes a message carries (a status line's "HTTP/1.x NNN"), from its buffer or its first iovec: 0, or
 * -1 when they are not there in one piece (the generic path copies and decides). */
static __always_inline int sx_l7_peek12(__u64 buf, __u32 iovcnt, __u8 kind, __u32 len, __u8 *out)
{
	if (len < 12)
		return -1;
	void *p = (void *)buf;
	if (kind != SX_ARGS_BUF) {
		struct iovec v = {};
		if (!iovcnt || bpf_probe_read_user(&v, sizeof(v), (void *)buf) || v.iov_len < 12)
			return -1;
		p = v.iov_base;
	}
	return bpf_probe_read_user(out, 12, p) ? -1 : 0;
}

/* The time of a TCP read that just copied data (CLOCK_MONOTONIC, as bpf_ktime_get_ns): the socket's TCP clock, which
 * the read refreshed as it copied (tcp_recvmsg: tcp_rcv_space_adjust -> tcp_mstamp_refresh), a load from a line the read
 * just wrote instead of a clock read (~40 ns here: kvm-clock). Measured on this kernel at wrk's reads: within 2 us of
 * bpf_ktime_get_ns for 99.9 % of them, never after it. A clock that is not past `after` (the request's time: the
 * response's arrival was processed before the write's tracepoint ran, and the read did not refresh it), a socket that
 * is not a TCP stream (sx_tcp_stream), or a kernel without the field: the clock is read. */
static __always_inline __u64 sx_tcp_read_ns(__u64 skaddr, __u64 after)
{
	struct tcp_sock *tp = bpf_rdonly_cast((void *)skaddr, bpf_core_type_id_kernel(struct tcp_sock));
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	if (bpf_core_field_exists(tp->tcp_clock_cache) && sx_tcp_stream(sk)) {
		__u64 t = tp->tcp_clock_cache;
		if (t > after)
			return t;
	}
	return bpf_ktime_get_ns();
}

/* An AGG socket's chunk decided before anything is copied or a record header filled (sx_l7_emit calls it first, with
 * the socket's state when its caller has looked it up, else NULL; `looked`: the caller did, and NULL is its answer;
 * the message's buffer, iovec count and kind in a):
 * 1 = handled, nothing to emit; 0 = the generic path copies the chunk, fills the header and runs sx_l7_signals.
 * Handled here: a request on a socket whose stash exists and is empty (its bytes are copied once, into the stash,
 * whose socket fields were filled by the socket's first request: only the request's own fields are written), a
 * first response chunk decided from its first 12 bytes (aggregated; when kept, the stash is emitted here and the
 * chunk by the generic path), and the later response chunks of an exchange not kept (skipped; the bytes of every later
 * response chunk, kept or not, are summed in the stash for the exchange's aggregate). Everything else
 * (a socket's first request, the rules' exceptions, kept chunks) takes the generic path, which decides the same.
 * A global function: verified once. */
__noinline int sx_l7_agg_fast(struct sx_l7_args *a, struct sx_l7_sock *ls, int looked, __u32 len)
{
	if (!a)
		return 0;
	__u64 buf = a->buf;
	__u32 iovcnt = a->iovcnt;
	__u8 kind = a->kind;
	__u64 key = a->sk | (a->tls ? 1 : 0); /* TLS plaintext: its own state (as sx_l7_emit) */
	if (!ls && !looked)
		ls = sx_l7_state(key, a->tls ? 0 : sx_sock_cookie_of(a->sk));
	if (!ls || ls->ino != a->ino || ls->protocol != SX_PROTO_HTTP || ls->full)
		return 0;
	int request = (a->direction == SX_L7_EGRESS) == (ls->role == SX_DIR_CLIENT);
	struct sx_l7_stashed *s = sx_l7_stash_get(key);
	if (!request && ls->xstate == SX_X_RESPONDING) {
		/* a later chunk of an answered response: its bytes are its aggregate's (kept or not); skipped when not kept */
		if (s && s->h.sock_ino == a->ino)
			s->agg_bytes += len;
		return ls->kept == SX_KEPT_NONE;
	}
	if (!s || s->h.sock_ino != a->ino)
		return 0;
	/* the exit's time: a read's own, a write's for the aggregate (not needed for a request written) */
	__u64 now = 0;
	if (a->direction == SX_L7_INGRESS && !a->tls)
		now = sx_tcp_read_ns(a->sk, request ? 0 : ls->x_req_ns);
	else if (a->direction == SX_L7_INGRESS || !request)
		now = bpf_ktime_get_ns();
	__u64 ts = a->direction == SX_L7_EGRESS ? a->ts_ns : now; /* as the record header's ts_ns */
	__u32 zero = 0;

	if (request) {
		if (ls->xstate == SX_X_AWAITING || s->h.total_len)
			return 0;
		sx_l7_settle_bytes(s); /* the last exchange's response is over */
		struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
		if (!r)
			return 0;
		__u32 cap = capture_bytes;
		if (cap > SX_L7_MAX_CAPTURE)
			cap = SX_L7_MAX_CAPTURE;
		__u32 captured = sx_l7_copy(r, buf, iovcnt, kind, len < cap ? len : cap);
		__u8 m = sx_http_method(r->data, captured);
		if (m == SX_HTTP_METHOD_UNKNOWN || sx_http_pipelined(r, captured))
			return 0; /* the generic path copies again and goes FULL */
		struct sx_l7_header *h = &s->h;
		__u32 pid = bpf_get_current_pid_tgid() >> 32;
		if (h->pid != pid) {
			h->pid = pid;
			sx_process_comm(h->comm);
		}
		h->ts_ns = ts;
		h->cgroup_id = sx_l7_cgroup_id(s);
		h->captured_len = captured;
		h->direction = a->direction;
		h->syscall = a->syscall;
		h->kept = SX_KEPT_NONE;
		h->xseq = ls->xseq + 1;
		if (captured >= SX_L7_MAX_CAPTURE) {
			bpf_probe_read_kernel(s->data, SX_L7_MAX_CAPTURE, r->data);
		} else {
			asm volatile("%0 &= 0xfff" : "+r"(captured));
			bpf_probe_read_kernel(s->data, captured, r->data);
		}
		h->total_len = len; /* the stash holds a request from here */
		ls->xstate = SX_X_AWAITING;
		ls->method = m;
		ls->kept = SX_KEPT_NONE;
		ls->x_req_ns = ts;
		ls->xseq = h->xseq;
		if (ls->role == SX_DIR_CLIENT && !ls->awaiting) {
			ls->req_ns = a->ts_ns;
			ls->awaiting = 1;
		}
		return 1;
	}

	if (ls->xstate != SX_X_AWAITING || !s->h.total_len)
		return 0;
	__u8 p[16] = {};
	if (sx_l7_peek12(buf, iovcnt, kind, len, p))
		return 0;
	__u16 status = sx_http_status(p, 12);
	if (status < 200)
		return 0;
	struct sx_l7_config *c = bpf_map_lookup_elem(&sx_l7_config, &zero);
	if (!c)
		return 0;
	__u64 lat = ts > ls->x_req_ns ? ts - ls->x_req_ns : 0;
	__u64 cgroup = sx_l7_cgroup_id(s);
	/* the key is built in the stash, where the response's later chunks find it */
	sx_l7_agg_key_set(&s->agg, ls, &s->h, cgroup, bpf_get_current_pid_tgid() >> 32, status, a->tls);
	if (sx_l7_agg_add_gen(c, &s->agg, lat, now, s->h.total_len, len))
		return 0; /* no room: the generic path tries again and goes FULL */
	sx_count(SX_COUNTER_L7_AGGREGATED);
	__u8 kept = sx_l7_keep(c, s, status, lat, now);
	ls->xstate = SX_X_RESPONDING;
	ls->kept = kept;
	/* the client's latency is in the aggregate's histogram (the collector adds it to sx_hist's HTTP kind) */
	if (ls->role == SX_DIR_CLIENT)
		ls->awaiting = 0;
	if (kept == SX_KEPT_NONE) {
		s->h.total_len = 0;
		return 1;
	}
	sx_count(SX_COUNTER_L7_KEPT_ERROR - SX_KEPT_ERROR + kept);
	s->h.kept = kept;
	ls->records = 1;
	sx_l7_output(&s->h, s->h.captured_len);
	s->h.total_len = 0;
	return 0; /* the generic path copies this chunk and emits it with ls->kept */
}
