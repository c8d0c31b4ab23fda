// SPDX-License-Identifier: GPL-2.0
/* Per-edge slow thresholds (docs/l7-line-rate.md, included by sextant_l7_agg.bpf.h): the collector sets an edge's
 * threshold from its own latency (its recent p99, clamped); edges without one use the global sx_l7_config.slow_ns.
 * The map is looked up only while sx_l7_config.slow_edges says it has entries, and then once per socket and
 * generation of the thresholds (sx_l7_config.slow_gen, changed by every update of them): a socket's edge does not
 * change, so its stash keeps the threshold found (a hash look-up per aggregated response before). */
#pragma once

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sx_l7_slow_key);
	__type(value, __u64);
} sx_l7_slow SEC(".maps");

/* The slow threshold of the edge of aggregate key k (ns, 0 = none). */
static __always_inline __u64 sx_l7_slow_ns(struct sx_l7_config *c, struct sx_l7_agg_key *k)
{
	if (!c->slow_edges)
		return c->slow_ns;
	struct sx_l7_slow_key sk = {};
	sk.role = k->role;
	sk.family = k->family;
	if (k->role == SX_DIR_CLIENT) {
		sk.port = k->rport;
		__builtin_memcpy(sk.addr, k->raddr, sizeof(sk.addr));
	} else {
		sk.port = k->lport;
	}
	__u64 *t = bpf_map_lookup_elem(&sx_l7_slow, &sk);
	return t ? *t : c->slow_ns;
}

/* The slow threshold of the edge of the socket whose stash is s (its aggregate key: s->agg), kept in the stash. */
static __always_inline __u64 sx_l7_slow_of(struct sx_l7_config *c, struct sx_l7_stashed *s)
{
	if (!c->slow_edges)
		return c->slow_ns;
	__u32 g = c->slow_gen;
	if (!g || s->slow_gen != g) {
		s->slow_ns = sx_l7_slow_ns(c, &s->agg);
		s->slow_gen = g;
	}
	return s->slow_ns;
}
