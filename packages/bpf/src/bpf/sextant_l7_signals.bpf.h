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

/* A stashed request: the record it would have been (header + first captured bytes). */
struct sx_l7_stashed {
	struct sx_l7_header h;
	__u8 data[SX_L7_MAX_CAPTURE];
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

/* Aggregates of one drain interval: 16,384 keys of 2.7 kB at most (~45 MB, allocated as used, like sx_hist). A
 * key that finds no room puts its socket on the full path (counted), so no exchange goes uncounted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct sx_l7_agg_key);
	__type(value, struct sx_l7_agg_value);
} sx_l7_agg0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct sx_l7_agg_key);
	__type(value, struct sx_l7_agg_value);
} sx_l7_agg1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_l7_config);
} sx_l7_config SEC(".maps");

/* The value a new aggregate is inserted from (too large for the BPF stack): zero counts, comm and first_ns set. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_l7_agg_value);
} sx_l7_agg_zero SEC(".maps");

/* Sampled successes kept by this CPU in its current one-second window. */
struct sx_l7_budget {
	__u64 window_ns;
	__u32 used;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_l7_budget);
} sx_l7_budget SEC(".maps");

/* One record (header + captured bytes) into the L7 ring. */
static __always_inline void sx_l7_output(void *rec, __u32 captured)
{
	if (captured > SX_L7_MAX_CAPTURE)
		captured = SX_L7_MAX_CAPTURE;
	sx_bound(captured);
	__u64 size = sizeof(struct sx_l7_header) + captured;
	__u64 flags = bpf_ringbuf_query(&sx_l7_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
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

/* Emits a socket's stashed request (if any) with `kept`, and marks the stash empty. */
static __always_inline void sx_l7_flush_stash(__u64 *key, __u8 kept)
{
	struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, key);
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
		/* The socket's first request: the element is created from the record (its first 4 kB of data). */
		if (bpf_map_update_elem(&sx_l7_stash, key, r, BPF_NOEXIST)) {
			if (!bpf_map_lookup_elem(&sx_l7_stash, key))
				sx_count(SX_COUNTER_L7_STASH_FULL);
			return -1;
		}
		return 0;
	}
	if (s->h.total_len)
		return -1;
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

/* Adds one exchange to an aggregate map; -1 when it has no room for a new key. The process name is read only when
 * the key is new. */
static __always_inline int sx_l7_agg_add(void *map, struct sx_l7_agg_key *k, __u64 lat, __u64 now)
{
	struct sx_l7_agg_value *v = bpf_map_lookup_elem(map, k);
	if (!v) {
		__u32 zero = 0;
		struct sx_l7_agg_value *z = bpf_map_lookup_elem(&sx_l7_agg_zero, &zero);
		if (!z)
			return -1;
		sx_process_comm(z->comm);
		z->first_ns = now;
		if (bpf_map_update_elem(map, k, z, BPF_NOEXIST) && !bpf_map_lookup_elem(map, k)) {
			sx_count(SX_COUNTER_L7_AGG_MAP_FULL);
			return -1;
		}
		v = bpf_map_lookup_elem(map, k);
		if (!v)
			return -1;
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->latency_sum_ns, lat);
	v->last_ns = now;
	__u32 b = sextant_hist_bucket(lat);
	if (b < SX_HIST_BUCKETS)
		__sync_fetch_and_add(&v->hist[b], 1);
	return 0;
}

static __always_inline int sx_l7_agg_add_gen(struct sx_l7_config *c, struct sx_l7_agg_key *k, __u64 lat, __u64 now)
{
	return (c->gen & 1) ? sx_l7_agg_add(&sx_l7_agg1, k, lat, now) : sx_l7_agg_add(&sx_l7_agg0, k, lat, now);
}

/* Whether an aggregated exchange is also recorded, and why. */
static __always_inline __u8 sx_l7_keep(struct sx_l7_config *c, __u16 status, __u64 lat, __u64 now)
{
	if (status >= 500)
		return SX_KEPT_ERROR;
	if (c->slow_ns && lat >= c->slow_ns)
		return SX_KEPT_SLOW;
	if (now < c->record_all_until_ns)
		return SX_KEPT_CAPTURE;
	if (!c->budget_per_cpu)
		return SX_KEPT_NONE;
	__u32 zero = 0;
	struct sx_l7_budget *b = bpf_map_lookup_elem(&sx_l7_budget, &zero);
	if (!b)
		return SX_KEPT_NONE;
	if (now - b->window_ns >= 1000000000ULL) {
		b->window_ns = now;
		b->used = 0;
	}
	if (b->used >= c->budget_per_cpu)
		return SX_KEPT_NONE;
	b->used++;
	return SX_KEPT_SAMPLED;
}

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

	struct sx_l7_agg_key k = {};
	k.cgroup_id = h->cgroup_id;
	k.pid = h->pid;
	k.status = status;
	k.method = ls->method;
	k.role = ls->role;
	k.family = h->family;
	k.protocol = SX_PROTO_HTTP;
	if (ls->role == SX_DIR_CLIENT)
		k.rport = h->dport;
	else
		k.lport = h->sport;
	__builtin_memcpy(k.laddr, h->saddr, sizeof(k.laddr));
	__builtin_memcpy(k.raddr, h->daddr, sizeof(k.raddr));
	if (sx_l7_agg_add_gen(c, &k, lat, now))
		return sx_l7_go_full(ls, r, key);
	sx_count(SX_COUNTER_L7_AGGREGATED);

	__u8 kept = sx_l7_keep(c, status, lat, now);
	ls->xstate = SX_X_RESPONDING;
	ls->kept = kept;
	if (kept == SX_KEPT_NONE) {
		struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, key);
		if (s)
			s->h.total_len = 0;
		return 0;
	}
	sx_count(SX_COUNTER_L7_KEPT_ERROR - SX_KEPT_ERROR + kept);
	sx_l7_flush_stash(key, kept);
	h->kept = kept;
	return 1;
}

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

/* An AGG socket's chunk decided before anything is copied or a record header filled (sx_l7_emit calls it first):
 * 1 = handled, nothing to emit; 0 = the generic path copies the chunk, fills the header and runs sx_l7_signals.
 * Handled here: a request on a socket whose stash exists and is empty (its bytes are copied once, into the stash,
 * whose socket fields were filled by the socket's first request: only the request's own fields are written), a
 * first response chunk decided from its first 12 bytes (aggregated; when kept, the stash is emitted here and the
 * chunk by the generic path), and the later response chunks of an exchange not kept (skipped). Everything else
 * (a socket's first request, the rules' exceptions, kept chunks) takes the generic path, which decides the same.
 * A global function: verified once. */
__noinline int sx_l7_agg_fast(struct sx_l7_args *a, __u64 buf, __u32 iovcnt, __u8 kind, __u32 len)
{
	if (!a)
		return 0;
	__u64 key = a->sk | (a->tls ? 1 : 0); /* TLS plaintext: its own state (as sx_l7_emit) */
	struct sx_l7_sock *ls = bpf_map_lookup_elem(&sx_l7_socks, &key);
	if (!ls || ls->ino != a->ino || ls->protocol != SX_PROTO_HTTP || ls->full)
		return 0;
	int request = (a->direction == SX_L7_EGRESS) == (ls->role == SX_DIR_CLIENT);
	if (!request && ls->xstate == SX_X_RESPONDING)
		return ls->kept == SX_KEPT_NONE; /* a later chunk of a response not kept: skipped */
	struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, &key);
	if (!s || s->h.sock_ino != a->ino)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 ts = a->direction == SX_L7_EGRESS ? a->ts_ns : now; /* as the record header's ts_ns */
	__u32 zero = 0;

	if (request) {
		if (ls->xstate == SX_X_AWAITING || s->h.total_len)
			return 0;
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
		h->cgroup_id = bpf_get_current_cgroup_id();
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
	__u64 cgroup = bpf_get_current_cgroup_id();
	/* the aggregate key, then the histogram key in the same stack bytes (the sendmmsg exit's combined stack is at
	 * the 512-byte limit) */
	union {
		struct sx_l7_agg_key agg;
		struct sx_hist_key hist;
	} u = {};
	struct sx_l7_agg_key *k = &u.agg;
	k->cgroup_id = cgroup;
	k->pid = bpf_get_current_pid_tgid() >> 32;
	k->status = status;
	k->method = ls->method;
	k->role = ls->role;
	k->family = s->h.family;
	k->protocol = SX_PROTO_HTTP;
	if (ls->role == SX_DIR_CLIENT)
		k->rport = s->h.dport;
	else
		k->lport = s->h.sport;
	__builtin_memcpy(k->laddr, s->h.saddr, sizeof(k->laddr));
	__builtin_memcpy(k->raddr, s->h.daddr, sizeof(k->raddr));
	if (sx_l7_agg_add_gen(c, k, lat, now))
		return 0; /* no room: the generic path tries again and goes FULL */
	sx_count(SX_COUNTER_L7_AGGREGATED);
	__u8 kept = sx_l7_keep(c, status, lat, now);
	ls->xstate = SX_X_RESPONDING;
	ls->kept = kept;
	if (ls->role == SX_DIR_CLIENT && ls->awaiting) {
		ls->awaiting = 0;
		if (s->h.dport) {
			struct sx_hist_key *hk = &u.hist;
			__builtin_memset(hk, 0, sizeof(*hk));
			hk->cgroup_id = cgroup;
			hk->kind = SX_HIST_HTTP;
			hk->family = s->h.family;
			hk->rport = s->h.dport;
			__builtin_memcpy(hk->raddr, s->h.daddr, sizeof(hk->raddr));
			sx_hist_record(hk, now - ls->req_ns);
		}
	}
	if (kept == SX_KEPT_NONE) {
		s->h.total_len = 0;
		return 1;
	}
	sx_count(SX_COUNTER_L7_KEPT_ERROR - SX_KEPT_ERROR + kept);
	s->h.kept = kept;
	sx_l7_output(s, s->h.captured_len);
	s->h.total_len = 0;
	return 0; /* the generic path copies this chunk and emits it with ls->kept */
}
