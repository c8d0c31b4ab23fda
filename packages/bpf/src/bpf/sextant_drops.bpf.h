// SPDX-License-Identifier: GPL-2.0
/* Packet drops (included by sextant.bpf.c, after its helpers; its TCP close handler uses sx_forget_refused_syn). */
#pragma once

/* Drops aggregated per (kernel drop reason, 5-tuple), drained by the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sx_drop_key);
	__type(value, struct sx_drop_value);
} sx_drops SEC(".maps");

/* Socket housekeeping, not network drops: QUEUE_PURGE is what a socket's queues hold when it is destroyed,
 * typically the FIN of a connection its application closed without reading to EOF (nearly every closed
 * connection would show one), SOCKET_CLOSE what a socket's receive queue held at close. */
static __always_inline int sx_housekeeping_drop(__u32 reason)
{
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE))
		return 1;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_CLOSE) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_CLOSE))
		return 1;
	return 0;
}

/* kfree_skb(skb, location, reason, ...) as a BTF raw tracepoint: no trace record is filled in for the
 * frees that are not drops, which return at the first test. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(sx_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason drop_reason)
{
	__u32 reason = drop_reason;
	if (reason <= 1) /* SKB_NOT_DROPPED_YET, SKB_CONSUMED */
		return 0;
	if (sx_housekeeping_drop(reason))
		return 0;
	struct sx_drop_key key = {};
	key.reason = reason;
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	__u16 th = skb->transport_header;
	__u16 proto = skb->protocol;
	if (nh != (__u16)~0U && proto == __builtin_bswap16(0x0800)) {
		struct iphdr ip;
		if (!bpf_probe_read_kernel(&ip, sizeof(ip), head + nh)) {
			key.family = 4;
			key.protocol = ip.protocol;
			__builtin_memcpy(key.saddr, &ip.saddr, 4);
			__builtin_memcpy(key.daddr, &ip.daddr, 4);
			if (th == (__u16)~0U || th == nh)
				th = nh + ip.ihl * 4;
		}
	} else if (nh != (__u16)~0U && proto == __builtin_bswap16(0x86DD)) {
		struct ipv6hdr ip6;
		if (!bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh)) {
			key.family = 6;
			key.protocol = ip6.nexthdr;
			__builtin_memcpy(key.saddr, &ip6.saddr, 16);
			__builtin_memcpy(key.daddr, &ip6.daddr, 16);
			if (th == (__u16)~0U || th == nh)
				th = nh + sizeof(ip6);
		}
	}
	if (key.family && (key.protocol == IPPROTO_TCP || key.protocol == IPPROTO_UDP) && th != (__u16)~0U) {
		__u16 ports[2];
		if (!bpf_probe_read_kernel(ports, sizeof(ports), head + th)) {
			key.sport = __builtin_bswap16(ports[0]);
			key.dport = __builtin_bswap16(ports[1]);
		}
	}
	__u64 now = bpf_ktime_get_ns();
	struct sx_drop_value *v = bpf_map_lookup_elem(&sx_drops, &key);
	if (!v) {
		struct sx_drop_value nv = {};
		struct sock *sk = skb->sk;
		/* last_ns too: the collector may drain the entry before this CPU updates it below, and an
		 * entry read with last_ns 0 would span back to boot (a negative duration once converted). */
		nv.first_ns = now;
		nv.last_ns = now;
		if (sk)
			nv.cgroup_id = sx_sock_cgroup(sk);
		if (bpf_map_update_elem(&sx_drops, &key, &nv, BPF_NOEXIST) && !bpf_map_lookup_elem(&sx_drops, &key)) {
			sx_count(SX_COUNTER_DROP_MAP_FULL);
			return 0;
		}
		v = bpf_map_lookup_elem(&sx_drops, &key);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(&v->count, 1);
	/* Only forward: another CPU that read the clock later may have written already (first_ns ≤ last_ns). */
	if (now > v->last_ns)
		v->last_ns = now;
	return 0;
}

/* A client socket's connect was refused (it received a RST in SYN_SENT). When the port it called is on this
 * host, the kernel dropped its SYN with NO_SOCKET just before answering with that RST (the RST is queued
 * behind the SYN on the same backlog, so the drop is recorded first): the connection's own record already
 * says what happened and who called, so that drop is forgotten rather than reported as a second, unnamed
 * record. Only the exact 5-tuple of this socket's SYN is touched; drops of any other packet stay. */
static __always_inline void sx_forget_refused_syn(struct sock *sk)
{
	struct sx_drop_key key = {};
	key.reason = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NO_SOCKET);
	key.protocol = IPPROTO_TCP;
	key.sport = __builtin_bswap16(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	key.dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (sk->__sk_common.skc_family == AF_INET6) {
		__u8 d[16];
		BPF_CORE_READ_INTO(&d, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		__u32 *w = (__u32 *)d;
		if (w[0] == 0 && w[1] == 0 && w[2] == __builtin_bswap32(0xffff)) {
			/* a v4-mapped peer: the SYN went out as IPv4 */
			__u32 a = sk->__sk_common.skc_rcv_saddr;
			key.family = 4;
			__builtin_memcpy(key.saddr, &a, 4);
			a = sk->__sk_common.skc_daddr;
			__builtin_memcpy(key.daddr, &a, 4);
		} else {
			key.family = 6;
			BPF_CORE_READ_INTO(&key.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
			__builtin_memcpy(key.daddr, d, 16);
		}
	} else {
		__u32 a = sk->__sk_common.skc_rcv_saddr;
		key.family = 4;
		__builtin_memcpy(key.saddr, &a, 4);
		a = sk->__sk_common.skc_daddr;
		__builtin_memcpy(key.daddr, &a, 4);
	}
	bpf_map_delete_elem(&sx_drops, &key);
}
