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

/* A stash slot: its owner (the socket's key, 0 when free: sx_l7_stash_get); the socket's L7 state itself when it was
 * made here (ls.home = 1: sx_l7_state_home, an HTTP socket of the socket tracepoints), the cgroup the fast path last
 * read for this socket's calls, with the css_set and cgroup it was read through (sx_l7_cgroup_id), the slow threshold
 * of the socket's edge (sx_l7_slow_of); the aggregate key of the socket's last answered exchange and the bytes of its
 * later response chunks not yet added to it (sx_l7_settle_bytes); then the stashed request: the record it would have
 * been (header + first captured bytes, emitted from &h). What every exchange touches sits in the slot's first lines,
 * next to each other (a small request's bytes included), and slots are whole lines: before, the owner and the key sat
 * past the 4 kB of bytes, two more cold lines per request (−44 ns per keep-alive request by rotation). */
struct sx_l7_stashed {
	__u64 owner;
	struct sx_l7_sock ls;
	__u64 cg_css;
	__u64 cg_cgrp;
	__u64 cg_id;
	__u64 slow_ns;  /* the socket's edge's slow threshold as of the thresholds' generation slow_gen (0: none read) */
	__u32 slow_gen;
	__u32 pad;
	struct sx_l7_agg_key agg;
	__u64 agg_bytes;
	struct sx_l7_header h;
	__u8 data[SX_L7_MAX_CAPTURE];
	__u8 tail[56];
};
_Static_assert(sizeof(struct sx_l7_stashed) % 64 == 0, "sx_l7_stashed: whole cache lines");

/* The stashes: a fixed array of slots (8,192 × 4.3 kB ≈ 36 MB of kernel memory, allocated at load). A socket's key
 * (its address, or + 1 for its TLS plaintext) may sit in one of four slots next to each other, the group picked by a
 * hash of the key, and owns it while its owner field holds the key. Before, a hash map: a socket's first request
 * inserted a 4.3 kB element (the whole value copied under the bucket lock) and its close deleted it, and every
 * look-up walked a cold bucket; now a socket claims a free slot (compare-and-swap of its owner), writes only the
 * header and the bytes it captured, and gives the slot back at close; a look-up is an index (the first slot tried
 * is the one a socket claims unless it is taken). A socket whose four slots are all owned by live sockets takes the
 * full path (counted as stash full), as it did when the map was full: with 2,000 HTTP sockets holding a stash at
 * once about 0.4 % do, 3 % with 4,000, 19 % with 8,000 (the full path is exact, only dearer). */
#define SX_L7_STASH_BITS 13
#define SX_L7_STASH_WAYS 4
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << SX_L7_STASH_BITS);
	__type(key, __u32);
	__type(value, struct sx_l7_stashed);
} sx_l7_stash SEC(".maps");

/* The first of a key's slots (the others are index ^ 1, ^ 2, ^ 3). Socket addresses are slab objects some kB apart:
 * a multiplicative hash spreads them (the + 1 of a TLS key lands elsewhere). */
static __always_inline __u32 sx_l7_stash_slot(__u64 key)
{
	return (__u32)((key * 0x9E3779B97F4A7C15ULL) >> (64 - SX_L7_STASH_BITS));
}

/* The stash owned by key, or NULL. */
static __always_inline struct sx_l7_stashed *sx_l7_stash_get(__u64 key)
{
	__u32 first = sx_l7_stash_slot(key);
	for (__u32 n = 0; n < SX_L7_STASH_WAYS; n++) {
		__u32 i = first ^ n;
		struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, &i);
		if (s && s->owner == key)
			return s;
	}
	return NULL;
}

/* A socket's cookie (0: none generated yet), from its address: a plain load. */
static __always_inline __u64 sx_sock_cookie_of(__u64 addr)
{
	struct sock *sk = bpf_rdonly_cast((void *)addr, bpf_core_type_id_kernel(struct sock));
	return sk->__sk_common.skc_cookie.counter;
}

/* A socket's L7 state under key (its address; + 1 for its TLS plaintext): in its stash slot when it was made there
 * (sx_l7_state_home: an HTTP socket of the socket tracepoints, in signals mode; it has a cookie, generated before),
 * else in sx_l7_socks. The stash is looked at only for a socket with a cookie: nearly every other socket is one load
 * away from the map, as before. */
static __always_inline struct sx_l7_sock *sx_l7_state(__u64 key, __u64 cookie)
{
	if (cookie && !(key & 1)) {
		struct sx_l7_stashed *s = sx_l7_stash_get(key);
		if (s && s->ls.home)
			return &s->ls;
	}
	return bpf_map_lookup_elem(&sx_l7_socks, &key);
}

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

/* A socket's stash lives as long as the socket (its slot given back at TCP close): a request overwrites it in place
 * and an answered one only marks it empty (h.total_len = 0). Inserting and deleting a 4 kB element per request cost
 * the allocator and RCU ~+40 µs of machine CPU per keep-alive request (bench:collector, ratio 0.31 against 0.58
 * for full mode); in place, a request costs a lookup and a copy of its captured bytes. */
static __always_inline int sx_l7_stash_valid(struct sx_l7_stashed *s)
{
	return s && s->h.total_len;
}

/* Emits a stashed request (if any) with `kept`, and marks the stash empty; the last answered exchange's pending
 * response bytes go to its aggregate. */
static __always_inline void sx_l7_flush(struct sx_l7_stashed *s, __u8 kept)
{
	sx_l7_settle_bytes(s);
	if (!sx_l7_stash_valid(s))
		return;
	s->h.kept = kept;
	sx_l7_output(&s->h, s->h.captured_len);
	s->h.total_len = 0;
}

/* A slot taken by a socket: nothing of its earlier owner's is read again (a stashed request was flushed before). */
static __always_inline void sx_l7_stash_reset(struct sx_l7_stashed *s)
{
	s->ls.home = 0;
	s->agg_bytes = 0;
	s->cg_css = 0;   /* the cgroup id is read afresh (sx_l7_cgroup_id) */
	s->slow_gen = 0; /* and the edge's slow threshold (sx_l7_slow_of) */
}

static __always_inline void sx_l7_flush_stash(__u64 *key, __u8 kept)
{
	struct sx_l7_stashed *s = sx_l7_stash_get(*key);
	if (s)
		sx_l7_flush(s, kept);
}

/* The socket is gone (TCP close) or its address now belongs to another socket: an unanswered request is
 * emitted (kept 0) and the slot given back. Only its owner writes a slot it owns. */
static __always_inline void sx_l7_drop_stash(__u64 *key)
{
	struct sx_l7_stashed *s = sx_l7_stash_get(*key);
	if (!s)
		return;
	sx_l7_flush(s, SX_KEPT_NONE);
	s->ls.home = 0;
	s->owner = 0;
}

/* Whether the owner of a slot is a live socket: its L7 state (in the slot, or made before it claimed the slot; deleted
 * or given back at its close) is there with the inode its struct sock has now. A slot whose socket's close was never
 * seen (the programs were detached meanwhile, or its state was evicted from the LRU map) is free to take. */
static __always_inline int sx_l7_stash_owner_live(struct sx_l7_stashed *s, __u64 owner)
{
	struct sx_l7_sock *ls = s->ls.home ? &s->ls : bpf_map_lookup_elem(&sx_l7_socks, &owner);
	if (!ls)
		return 0;
	struct sock *sk = (struct sock *)(owner & ~1ULL);
	__u64 ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	return ino && ino == ls->ino;
}

/* One of key's slots, claimed (compare-and-swap of its owner: two sockets may claim the same free slot at once on
 * two CPUs); a slot of a socket that is gone is emptied first (its unanswered request emitted, its pending bytes
 * settled). NULL when all belong to live sockets. */
static __always_inline struct sx_l7_stashed *sx_l7_stash_claim(__u64 key)
{
	__u32 first = sx_l7_stash_slot(key);
	for (__u32 n = 0; n < SX_L7_STASH_WAYS; n++) {
		__u32 i = first ^ n;
		struct sx_l7_stashed *s = bpf_map_lookup_elem(&sx_l7_stash, &i);
		if (!s)
			continue;
		__u64 o = s->owner;
		if (o && sx_l7_stash_owner_live(s, o))
			continue;
		if (__sync_val_compare_and_swap(&s->owner, o, key) != o)
			continue;
		if (o)
			sx_l7_flush(s, SX_KEPT_NONE);
		sx_l7_stash_reset(s);
		return s;
	}
	return NULL;
}

/* Makes ns a socket's L7 state in its stash slot (ls.home = 1), so that its calls find state and stash in one slot,
 * not in a hash bucket walk of sx_l7_socks first (two per keep-alive request), and its close has no map element to
 * delete. The socket is new (no state of its own was found), so a slot is claimed straight away: a slot its address
 * still owns (an earlier socket's, whose close was not seen) is not a live socket's and is claimed like a free one
 * when it comes first (sx_l7_stash_get then finds the claimed one first either way). Looking for it first read all
 * four slots' cold lines per new socket. NULL when all four are live sockets' (the state then goes to the map, as
 * before). The caller generated the socket's cookie: sx_l7_state looks in the stash only for a socket that has one. */
static __always_inline struct sx_l7_sock *sx_l7_state_home(__u64 key, struct sx_l7_sock *ns)
{
	struct sx_l7_stashed *s = sx_l7_stash_claim(key);
	if (!s)
		return NULL;
	__builtin_memcpy(&s->ls, ns, sizeof(s->ls));
	s->ls.home = 1;
	return &s->ls;
}

/* The current task's cgroup id (as bpf_get_current_cgroup_id: its css_set's default-hierarchy cgroup), remembered in
 * the socket's stash with the css_set and cgroup it was read through: while the task's css_set and that css_set's cgroup
 * are the same objects, the id is the one read before, and the kernfs node and cgroup lines the helper walks (cold on
 * every exchange: ~12 % of a keep-alive request's program time, perf) are not read. */
static __always_inline __u64 sx_l7_cgroup_id(struct sx_l7_stashed *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct css_set *cs = bpf_rdonly_cast(task->cgroups, bpf_core_type_id_kernel(struct css_set));
	__u64 css = (__u64)cs, cgrp = (__u64)cs->dfl_cgrp;
	if (css && css == s->cg_css && cgrp == s->cg_cgrp)
		return s->cg_id;
	__u64 id = bpf_get_current_cgroup_id();
	s->cg_css = css;
	s->cg_cgrp = cgrp;
	s->cg_id = id;
	return id;
}

/* Stashes the request in r: 0, or -1 when the socket finds no slot or a request is still stashed (the caller goes
 * FULL, which emits the leftover as an exchange of its own). */
static __always_inline int sx_l7_stash_request(struct sx_l7_record *r, __u64 *key, __u32 captured)
{
	struct sx_l7_stashed *s = sx_l7_stash_get(*key);
	if (!s) {
		s = sx_l7_stash_claim(*key); /* the socket's first request */
		if (!s) {
			sx_count(SX_COUNTER_L7_STASH_FULL);
			return -1;
		}
	}
	if (s->h.total_len)
		return -1;
	sx_l7_settle_bytes(s);
	__builtin_memcpy(&s->h, &r->h, sizeof(s->h));
	/* the cgroup cache the response's fast path reads (a new socket's slot has none): the lines the header's cgroup id
	 * was just read through are warm here, cold there */
	sx_l7_cgroup_id(s);
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
	struct sx_l7_stashed *s = sx_l7_stash_get(*key);
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

	__u8 kept = sx_l7_keep(c, s, status, lat, now);
	ls->xstate = SX_X_RESPONDING;
	ls->kept = kept;
	if (kept == SX_KEPT_NONE) {
		s->h.total_len = 0;
		return 0;
	}
	sx_count(SX_COUNTER_L7_KEPT_ERROR - SX_KEPT_ERROR + kept);
	s->h.kept = kept;
	sx_l7_output(&s->h, s->h.captured_len);
	s->h.total_len = 0;
	h->kept = kept;
	return 1;
}

#include "sextant_l7_agg_fast.bpf.h"
