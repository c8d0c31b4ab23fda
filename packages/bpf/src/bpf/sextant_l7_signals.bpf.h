// SPDX-License-Identifier: GPL-2.0
/* L7 signals mode (docs/l7-line-rate.md; included by sextant_l7.bpf.h): an HTTP/1.x socket in AGG mode is
 * counted in the kernel. A request is stashed (nothing emitted); its first response chunk parses the status,
 * updates the aggregate of (process, endpoints, role, method, status) with the latency, and decides whether the
 * exchange is kept (error > slow > capture > sampled > none). Kept: the stash and the response chunks are
 * emitted with `kept` = the reason. Anything the rules do not follow switches the socket to FULL for good: its
 * stash and current chunk are emitted with kept = 0 and every later chunk too, so each exchange is counted once,
 * by an aggregate or by its record. */
#pragma once

#define SX_X_IDLE 0
#define SX_X_AWAITING 1    /* request stashed, no response bytes yet */
#define SX_X_RESPONDING 2  /* the response started; later chunks follow `kept` */

/* A stashed request: the record it would have been (header + first captured bytes); then the aggregate key of the
 * socket's last answered exchange and the bytes of its later response chunks not yet added to it (sx_l7_settle_bytes);
 * then the cgroup the fast path last read for this socket's calls, with the css_set and cgroup it was read through
 * (sx_l7_cgroup_id). */
struct sx_l7_stashed {
	struct sx_l7_header h;
	__u8 data[SX_L7_MAX_CAPTURE];
	struct sx_l7_agg_key agg;
	__u64 agg_bytes;
	__u64 cg_css;
	__u64 cg_cgrp;
	__u64 cg_id;
};

/* Preallocated (8,192 sockets × 4.2 kB ≈ 35 MB of kernel memory, fixed): allocated on demand, an element per
 * new connection cost ~+23 µs of machine CPU per request on a new-connection-per-request workload (allocator and
 * RCU frees; bench:collector close 0.52 → 0.63). A socket finding the map full takes the full path (counted). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct sx_l7_stashed);
} sx_l7_stash SEC(".maps");

#include "sextant_l7_agg.bpf.h"

/* One record (header + captured bytes) into the L7 ring. */
static __always_inline void sx_l7_output(void *rec, __u32 captured)
{
	if (captured > SX_L7_MAX_CAPTURE)
		captured = SX_L7_MAX_CAPTURE;
	sx_bound(captured);
	__u64 size = sizeof(struct sx_l7_header) + captured;
	/* As for the TCP ring (sx_ringbuf_wakeup): a wakeup only as pending data crosses wakeup_bytes, not for every
	 * record past it (a lagging reader made each pay ~15 µs here); the window holds the largest record. */
	__u64 avail = bpf_ringbuf_query(&sx_l7_events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail >= wakeup_bytes && avail < wakeup_bytes + 2 * SX_L7_MAX_CAPTURE ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&sx_l7_events, rec, size, flags))
		sx_count(SX_COUNTER_L7_RINGBUF_FULL);
	else
		sx_count(SX_COUNTER_L7_EVENTS);
}

/* A socket's stash lives as long as the socket (deleted at TCP close): a request overwrites it in place and an
 * answered one only marks it empty (h.total_len = 0). Inserting and deleting a 4 kB element per request cost
 * the allocator and RCU ~+40 µs of machine CPU per keep-alive request (bench:collector, ratio 0.31 against 0.58
 * for full mode); in place, a request costs a lookup and a copy of its captured bytes. */
static __always_inline int sx_l7_stash_valid(struct sx_l7_stashed *s)
{
	return s && s->h.total_len;
}

/* Emits a socket's stashed request (if any) with `kept`, and marks the stash empty; the last answered exchange's
 * pending response bytes go to its aggregate. */
static __always_inline void sx_l7_flush_stash(__u64 *key, __u8 kept)
{
	struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, key);
	if (!s)
		return;
	sx_l7_settle_bytes(s);
	if (!sx_l7_stash_valid(s))
		return;
	s->h.kept = kept;
	sx_l7_output(s, s->h.captured_len);
	s->h.total_len = 0;
}

/* The socket is gone (TCP close) or its address now belongs to another socket: an unanswered request is
 * emitted (kept 0) and the stash freed. */
static __always_inline void sx_l7_drop_stash(__u64 *key)
{
	sx_l7_flush_stash(key, SX_KEPT_NONE);
	bpf_map_delete_elem(&sx_l7_stash, key);
}

/* Stashes the request in r: 0, or -1 when the map has no room or a request is still stashed (the caller goes FULL,
 * which emits the leftover as an exchange of its own). */
static __always_inline int sx_l7_stash_request(struct sx_l7_record *r, __u64 *key, __u32 captured)
{
	struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, key);
	if (!s) {
		/* The socket's first request: the element is created from the record (its first 4 kB of data, then
		 * what lies past them in the scratch, where the pending byte count is zeroed first). */
		((struct sx_l7_stashed *)r)->agg_bytes = 0;
		((struct sx_l7_stashed *)r)->cg_css = 0;
		if (bpf_map_update_elem(&sx_l7_stash, key, r, BPF_NOEXIST)) {
			if (!bpf_map_lookup_elem(&sx_l7_stash, key))
				sx_count(SX_COUNTER_L7_STASH_FULL);
			return -1;
		}
		return 0;
	}
	if (s->h.total_len)
		return -1;
	sx_l7_settle_bytes(s);
	__builtin_memcpy(&s->h, &r->h, sizeof(s->h));
	if (captured >= SX_L7_MAX_CAPTURE) {
		bpf_probe_read_kernel(s->data, SX_L7_MAX_CAPTURE, r->data);
	} else {
		asm volatile("%0 &= 0xfff" : "+r"(captured)); /* < SX_L7_MAX_CAPTURE here: a bound the verifier sees */
		bpf_probe_read_kernel(s->data, captured, r->data);
	}
	return 0;
}

#include "sextant_l7_http_peek.bpf.h"

/* The socket leaves AGG mode: its stash and this chunk go out as full-path records. */
static __always_inline int sx_l7_go_full(struct sx_l7_sock *ls, struct sx_l7_record *r, __u64 *key)
{
	ls->full = 1;
	ls->xstate = SX_X_IDLE;
	sx_count(SX_COUNTER_L7_FULL_SWITCHES);
	sx_l7_flush_stash(key, SX_KEPT_NONE);
	r->h.kept = SX_KEPT_NONE;
	r->h.xseq = 0;
	return 1;
}

/* One chunk of an AGG socket, its header filled in r: 1 = emit r (with r->h.kept set), 0 = nothing to emit.
 * A global function: the verifier checks it once per program, not once per path through sx_l7_emit (inlined,
 * it doubled the object's load time: ~3.2 s of CPU instead of ~1.7 s; 0.1 loaded in ~1.45 s). */
__noinline int sx_l7_signals(struct sx_l7_record *r, struct sx_l7_sock *ls, __u64 *key, __u32 captured, __u64 now)
{
	if (!r || !ls || !key)
		return 0;
	struct sx_l7_header *h = &r->h;
	int request = (h->direction == SX_L7_EGRESS) == (ls->role == SX_DIR_CLIENT);
	if (request) {
		if (ls->xstate == SX_X_AWAITING) /* a body in a second write, or pipelining */
			return sx_l7_go_full(ls, r, key);
		__u8 m = sx_http_method(r->data, captured);
		if (m == SX_HTTP_METHOD_UNKNOWN || sx_http_pipelined(r, captured))
			return sx_l7_go_full(ls, r, key);
		h->kept = SX_KEPT_NONE;
		h->xseq = ls->xseq + 1;
		/* A stash left over here (the socket's state was evicted meanwhile) is an exchange of its own: the
		 * switch to FULL emits it rather than overwriting it. */
		if (sx_l7_stash_request(r, key, captured))
			return sx_l7_go_full(ls, r, key);
		ls->xstate = SX_X_AWAITING;
		ls->method = m;
		ls->kept = SX_KEPT_NONE;
		ls->x_req_ns = h->ts_ns;
		ls->xseq = h->xseq;
		return 0;
	}
	h->xseq = ls->xseq;
	/* (a later response chunk's bytes were summed by the fast path, which every chunk of an AGG socket goes through) */
	if (ls->xstate == SX_X_RESPONDING) {
		h->kept = ls->kept;
		return ls->kept != SX_KEPT_NONE;
	}
	if (ls->xstate != SX_X_AWAITING)
		return sx_l7_go_full(ls, r, key);
	__u16 status = sx_http_status(r->data, captured);
	if (status < 200)
		return sx_l7_go_full(ls, r, key);
	__u32 zero = 0;
	struct sx_l7_config *c = bpf_map_lookup_elem(&sx_l7_config, &zero);
	if (!c)
		return sx_l7_go_full(ls, r, key);
	__u64 lat = h->ts_ns > ls->x_req_ns ? h->ts_ns - ls->x_req_ns : 0;
	struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, key);
	if (!sx_l7_stash_valid(s))
		return sx_l7_go_full(ls, r, key);
	/* the key is kept in the stash: the response's later chunks add their bytes to it */
	sx_l7_agg_key_set(&s->agg, ls, h, h->cgroup_id, h->pid, status, h->tls);
	if (sx_l7_agg_add_gen(c, &s->agg, lat, now, s->h.total_len, h->total_len))
		return sx_l7_go_full(ls, r, key);
	sx_count(SX_COUNTER_L7_AGGREGATED);
	/* an aggregated exchange's client latency is its aggregate's histogram, not sx_hist's (sx_l7_emit times the rest) */
	if (ls->role == SX_DIR_CLIENT)
		ls->awaiting = 0;

	__u8 kept = sx_l7_keep(c, &s->agg, status, lat, now);
	ls->xstate = SX_X_RESPONDING;
	ls->kept = kept;
	if (kept == SX_KEPT_NONE) {
		s->h.total_len = 0;
		return 0;
	}
	sx_count(SX_COUNTER_L7_KEPT_ERROR - SX_KEPT_ERROR + kept);
	s->h.kept = kept;
	sx_l7_output(s, s->h.captured_len);
	s->h.total_len = 0;
	h->kept = kept;
	return 1;
}

#include "sextant_l7_agg_fast.bpf.h"
