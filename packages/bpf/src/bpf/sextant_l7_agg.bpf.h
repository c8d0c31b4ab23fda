// SPDX-License-Identifier: GPL-2.0
/* The signals mode's aggregates (docs/l7-line-rate.md; included by sextant_l7_signals.bpf.h): the two generations of
 * per-(process, endpoints, role, method, status, TLS source) counters and byte sums the collector drains, the config
 * the programs read, and the rule that decides whether an aggregated exchange is also recorded. */
#pragma once

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

/* The value of key k in an aggregate map, inserted with zero counts when new (named `comm`, or the current process when
 * NULL: the name is read only for a new key); NULL when the map has no room for it. */
static __always_inline struct sx_l7_agg_value *sx_l7_agg_value_of(void *map, struct sx_l7_agg_key *k, __u64 now, const char *comm)
{
	struct sx_l7_agg_value *v = bpf_map_lookup_elem(map, k);
	if (v)
		return v;
	__u32 zero = 0;
	struct sx_l7_agg_value *z = bpf_map_lookup_elem(&sx_l7_agg_zero, &zero);
	if (!z)
		return NULL;
	if (comm)
		__builtin_memcpy(z->comm, comm, sizeof(z->comm));
	else
		sx_process_comm(z->comm);
	z->first_ns = now;
	if (bpf_map_update_elem(map, k, z, BPF_NOEXIST) && !bpf_map_lookup_elem(map, k)) {
		sx_count(SX_COUNTER_L7_AGG_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(map, k);
}

/* In front of each generation's hash map, a direct-mapped array of aggregate slots (SX_L7_AGG_SLOTS, ~2.9 MB each,
 * allocated at load): a key's slot is picked by a hash of its words, and a slot belongs to the first key that claims
 * it in a generation (compare-and-swap of its state); a key whose slot is another key's, or being claimed, goes to the
 * hash map as before. An exchange then costs an array look-up and a compare of the key's seven words instead of a
 * hash map look-up (jhash of 56 bytes and a bucket walk: ~106 ns per keep-alive request, measured with an object
 * counting into one array element). A key may so be in both places in one generation (a claim in flight): the
 * collector reads both at a drain and adds up what has the same key. It reads and zeroes the old generation's taken
 * slots (sx_l7_aggs_used) after the flip, as it reads and deletes its hash map's keys. */
struct sx_l7_agg_slot {
	__u64 state; /* 0: free; 1: being claimed; 2: its key's (key written before) */
	struct sx_l7_agg_key key;
	struct sx_l7_agg_value v;
};
_Static_assert(sizeof(struct sx_l7_agg_slot) == 8 + sizeof(struct sx_l7_agg_key) + sizeof(struct sx_l7_agg_value), "sx_l7_agg_slot");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SX_L7_AGG_SLOTS);
	__type(key, __u32);
	__type(value, struct sx_l7_agg_slot);
} sx_l7_aggs0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SX_L7_AGG_SLOTS);
	__type(key, __u32);
	__type(value, struct sx_l7_agg_slot);
} sx_l7_aggs1 SEC(".maps");

/* Which slots of each generation are taken, a bit each (entry gen & 1): a drain reads these 128 bytes and then only
 * the taken slots (reading all 1,024 made 2.9 MB of buffers a drain in the collector). */
struct sx_l7_agg_used {
	__u64 w[SX_L7_AGG_SLOTS / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sx_l7_agg_used);
} sx_l7_aggs_used SEC(".maps");

/* The slots' index mask (SX_L7_AGG_SLOTS - 1; a test sets 0: every key's slot is the first, the others collide). */
const volatile __u32 l7_agg_slot_mask = SX_L7_AGG_SLOTS - 1;

/* A key's slot: its words folded, then one multiply (keys that differ only in status or method land apart). */
static __always_inline __u32 sx_l7_agg_slot_index(const struct sx_l7_agg_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = w[0] ^ (w[1] << 7 | w[1] >> 57) ^ (w[2] << 19 | w[2] >> 45) ^ w[3] ^ (w[4] << 31 | w[4] >> 33) ^ w[5] ^
		  (w[6] << 43 | w[6] >> 21);
	return (__u32)((h * 0x9E3779B97F4A7C15ULL) >> 40) & l7_agg_slot_mask;
}

static __always_inline int sx_l7_agg_key_eq(const struct sx_l7_agg_key *a, const struct sx_l7_agg_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4] && x[5] == y[5] && x[6] == y[6];
}

/* Key k's value in a slot array, its slot claimed when free (named `comm`, or the current process when NULL); NULL
 * when the slot is another key's or being claimed (the hash map then). */
static __always_inline struct sx_l7_agg_value *sx_l7_agg_slot_of(void *slots, __u32 gen, struct sx_l7_agg_key *k, __u64 now,
							       const char *comm)
{
	__u32 i = sx_l7_agg_slot_index(k);
	struct sx_l7_agg_slot *s = bpf_map_lookup_elem(slots, &i);
	if (!s)
		return NULL;
	if (s->state == 2)
		return sx_l7_agg_key_eq(&s->key, k) ? &s->v : NULL;
	if (s->state != 0 || __sync_val_compare_and_swap(&s->state, 0, 1) != 0)
		return NULL;
	__builtin_memcpy(&s->key, k, sizeof(s->key));
	if (comm)
		__builtin_memcpy(s->v.comm, comm, sizeof(s->v.comm));
	else
		sx_process_comm(s->v.comm);
	s->v.first_ns = now;
	__sync_lock_test_and_set(&s->state, 2); /* an atomic exchange: the key is there before a reader sees the state */
	struct sx_l7_agg_used *u = bpf_map_lookup_elem(&sx_l7_aggs_used, &gen);
	if (u)
		__sync_fetch_and_or(&u->w[(i >> 6) & (SX_L7_AGG_SLOTS / 64 - 1)], 1ULL << (i & 63));
	return &s->v;
}

/* Key k's value in a generation: its slot, else its hash map entry (inserted when new); NULL when neither has room. */
static __always_inline struct sx_l7_agg_value *sx_l7_agg_in(void *slots, void *map, __u32 gen, struct sx_l7_agg_key *k, __u64 now,
							  const char *comm)
{
	struct sx_l7_agg_value *v = sx_l7_agg_slot_of(slots, gen, k, now, comm);
	return v ? v : sx_l7_agg_value_of(map, k, now, comm);
}

/* Adds one exchange (its latency, its request's bytes and its first response chunk's) to a generation's aggregates;
 * -1 when it has no room for a new key. */
static __always_inline int sx_l7_agg_add(void *slots, void *map, __u32 gen, struct sx_l7_agg_key *k, __u64 lat, __u64 now,
					 __u64 req_bytes, __u64 resp_bytes)
{
	struct sx_l7_agg_value *v = sx_l7_agg_in(slots, map, gen, k, now, NULL);
	if (!v)
		return -1;
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->latency_sum_ns, lat);
	__sync_fetch_and_add(&v->request_bytes, req_bytes);
	__sync_fetch_and_add(&v->response_bytes, resp_bytes);
	v->last_ns = now;
	__u32 b = sextant_hist_bucket(lat);
	if (b < SX_HIST_BUCKETS)
		__sync_fetch_and_add(&v->hist[b], 1);
	return 0;
}

static __always_inline int sx_l7_agg_add_gen(struct sx_l7_config *c, struct sx_l7_agg_key *k, __u64 lat, __u64 now, __u64 req_bytes,
					     __u64 resp_bytes)
{
	return (c->gen & 1) ? sx_l7_agg_add(&sx_l7_aggs1, &sx_l7_agg1, 1, k, lat, now, req_bytes, resp_bytes)
			    : sx_l7_agg_add(&sx_l7_aggs0, &sx_l7_agg0, 0, k, lat, now, req_bytes, resp_bytes);
}

/* The aggregate key of an exchange answered on an AGG socket: the socket's endpoints from a header of its (sh), the
 * answering process, the status and the TLS source. Every byte is written (keys are compared whole). */
static __always_inline void sx_l7_agg_key_set(struct sx_l7_agg_key *k, struct sx_l7_sock *ls, struct sx_l7_header *sh, __u64 cgroup,
					      __u32 pid, __u16 status, __u8 tls)
{
	k->cgroup_id = cgroup;
	k->pid = pid;
	k->lport = ls->role == SX_DIR_CLIENT ? 0 : sh->sport;
	k->rport = ls->role == SX_DIR_CLIENT ? sh->dport : 0;
	k->status = status;
	k->method = ls->method;
	k->role = ls->role;
	k->family = sh->family;
	k->protocol = SX_PROTO_HTTP;
	k->tls = tls;
	k->pad0 = 0;
	__builtin_memcpy(k->laddr, sh->saddr, sizeof(k->laddr));
	__builtin_memcpy(k->raddr, sh->daddr, sizeof(k->raddr));
}

/* An answered exchange's response chunks after its first (s->agg_bytes, summed by the fast path) go to its aggregate
 * (s->agg) in the generation being written: when its socket's next exchange starts, when the socket leaves AGG mode,
 * and at TCP close. A key drained meanwhile comes back with count 0 and these bytes; bytes that find no room for their
 * key are lost (counted as aggregate map full). A global function: verified once, not at every place a stash is
 * flushed (inlined there, it took object load from ~0.75 s to ~1.4 s of CPU). */
__noinline int sx_l7_settle_bytes_of(struct sx_l7_stashed *s)
{
	if (!s)
		return 0;
	__u64 n = s->agg_bytes;
	if (!n)
		return 0;
	s->agg_bytes = 0;
	__u32 zero = 0;
	struct sx_l7_config *c = bpf_map_lookup_elem(&sx_l7_config, &zero);
	if (!c)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct sx_l7_agg_value *v = (c->gen & 1) ? sx_l7_agg_in(&sx_l7_aggs1, &sx_l7_agg1, 1, &s->agg, now, s->h.comm)
						 : sx_l7_agg_in(&sx_l7_aggs0, &sx_l7_agg0, 0, &s->agg, now, s->h.comm);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->response_bytes, n);
	if (!v->last_ns)
		v->last_ns = now;
	return 0;
}

static __always_inline void sx_l7_settle_bytes(struct sx_l7_stashed *s)
{
	if (s->agg_bytes)
		sx_l7_settle_bytes_of(s);
}

#include "sextant_l7_slow.bpf.h"

/* Whether an aggregated exchange (its aggregate key in the stash s) is also recorded, and why. */
static __always_inline __u8 sx_l7_keep(struct sx_l7_config *c, struct sx_l7_stashed *s, __u16 status, __u64 lat, __u64 now)
{
	if (status >= 500)
		return SX_KEPT_ERROR;
	__u64 slow = sx_l7_slow_of(c, s);
	if (slow && lat >= slow)
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
