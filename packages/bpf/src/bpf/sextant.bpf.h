/* BPF-only helpers shared by Sextant's programs: maps, counters, address copying. */
#ifndef SEXTANT_BPF_H
#define SEXTANT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sextant_events.h"
#include "sextant_hist.h"

_Static_assert(SX_HIST_BUCKETS == sizeof(((struct sx_l7_agg_value *)0)->hist) / 8, "sx_l7_agg_value.hist is one counter per bucket");

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SX_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sx_counters SEC(".maps");

static __always_inline void sx_count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&sx_counters, &which);
	if (v)
		*v += 1;
}

/* The process's name (its main thread's comm): worker threads carry names like "isc-net-0000". */
static __always_inline void sx_process_comm(char *dst)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	if (!leader || bpf_probe_read_kernel(dst, 16, __builtin_preserve_access_index(&leader->comm)))
		bpf_get_current_comm(dst, 16);
}

struct sx_hist_value {
	__u64 counts[SX_HIST_BUCKETS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sx_hist_key);
	__type(value, struct sx_hist_value);
} sx_hist SEC(".maps");

/* A zeroed histogram to insert from (too large for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_hist_value);
} sx_hist_zero SEC(".maps");

static __always_inline void sx_hist_record(struct sx_hist_key *key, __u64 ns)
{
	struct sx_hist_value *h = bpf_map_lookup_elem(&sx_hist, key);
	if (!h) {
		__u32 zero = 0;
		struct sx_hist_value *z = bpf_map_lookup_elem(&sx_hist_zero, &zero);
		if (!z)
			return;
		if (bpf_map_update_elem(&sx_hist, key, z, BPF_NOEXIST) && bpf_map_lookup_elem(&sx_hist, key) == NULL) {
			sx_count(SX_COUNTER_HIST_MAP_FULL);
			return;
		}
		h = bpf_map_lookup_elem(&sx_hist, key);
		if (!h)
			return;
	}
	__u32 b = sextant_hist_bucket(ns);
	if (b < SX_HIST_BUCKETS)
		__sync_fetch_and_add(&h->counts[b], 1);
}

#endif
