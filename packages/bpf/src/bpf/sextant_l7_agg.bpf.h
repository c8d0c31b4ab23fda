// SPDX-License-Identifier: GPL-2.0
/* The signals mode's aggregates (docs/l7-line-rate.md; included by sextant_l7_signals.bpf.h): the two generations of
 * per-(process, endpoints, role, method, status) counters the collector drains, the config the programs read, and
 * the rule that decides whether an aggregated exchange is also recorded. */
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
