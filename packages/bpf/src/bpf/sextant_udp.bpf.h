// SPDX-License-Identifier: GPL-2.0
/* UDP flows, and the two socket tracepoints that L7 capture shares (included by sextant.bpf.c, after its maps and
 * helpers). */
#pragma once

/* UDP flow accounting on (the collector attaches the cgroup peer hooks); 0 when these programs are loaded for
 * L7 capture only (sextant_l7_sock.bpf.h). */
const volatile __u8 udp_flows = 1;

/* UDP conversations aggregated per (local, remote) address, drained by the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sx_udp_key);
	__type(value, struct sx_udp_value);
} sx_udp SEC(".maps");

/* UDP flows from the send and receive calls of UDP sockets. sock_send_length / sock_recv_length fire for
 * every socket call (TCP's too, so they are BTF raw tracepoints, which cost a fraction of classic ones, and
 * return at the protocol check); the peer of an unconnected socket comes from the cgroup sendmsg/recvmsg
 * hooks, which the kernel runs for UDP only, just before the call returns its length. */
struct sx_udp_peer {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid: one call at a time per thread */
	__type(value, struct sx_udp_peer);
} sx_udp_peers SEC(".maps");

/* A v4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address; returns the family. */
static __always_inline __u8 sx_unmap(__u8 *addr)
{
	__u32 *w = (__u32 *)addr;
	if (w[0] == 0 && w[1] == 0 && w[2] == __builtin_bswap32(0x0000ffff)) {
		w[0] = w[3];
		w[1] = w[2] = w[3] = 0;
		return 4;
	}
	return 6;
}

static __always_inline void sx_stash_peer4(struct bpf_sock_addr *ctx)
{
	struct sx_udp_peer p = {};
	__u64 tid = bpf_get_current_pid_tgid();
	__u32 ip = ctx->user_ip4;
	__builtin_memcpy(p.addr, &ip, 4);
	p.port = __builtin_bswap16((__u16)ctx->user_port);
	p.family = 4;
	bpf_map_update_elem(&sx_udp_peers, &tid, &p, BPF_ANY);
}

static __always_inline void sx_stash_peer6(struct bpf_sock_addr *ctx)
{
	struct sx_udp_peer p = {};
	__u64 tid = bpf_get_current_pid_tgid();
	__u32 *w = (__u32 *)p.addr;
	/* the context's words are read one by one: the verifier allows only fixed offsets into it */
	w[0] = ctx->user_ip6[0];
	w[1] = ctx->user_ip6[1];
	w[2] = ctx->user_ip6[2];
	w[3] = ctx->user_ip6[3];
	p.port = __builtin_bswap16((__u16)ctx->user_port);
	p.family = sx_unmap(p.addr); /* an IPv4 peer of a dual-stack socket counts as IPv4 */
	bpf_map_update_elem(&sx_udp_peers, &tid, &p, BPF_ANY);
}

SEC("cgroup/sendmsg4")
int sx_udp_sendmsg4(struct bpf_sock_addr *ctx)
{
	sx_stash_peer4(ctx);
	return 1;
}

SEC("cgroup/sendmsg6")
int sx_udp_sendmsg6(struct bpf_sock_addr *ctx)
{
	sx_stash_peer6(ctx);
	return 1;
}

SEC("cgroup/recvmsg4")
int sx_udp_recvmsg4(struct bpf_sock_addr *ctx)
{
	sx_stash_peer4(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int sx_udp_recvmsg6(struct bpf_sock_addr *ctx)
{
	sx_stash_peer6(ctx);
	return 1;
}

static __always_inline void sx_udp_call(struct sock *sk, long ret, int egress)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct sx_udp_peer *peer = bpf_map_lookup_elem(&sx_udp_peers, &tid);
	struct sx_udp_key key = {};
	if (peer) {
		__builtin_memcpy(key.raddr, peer->addr, 16);
		key.rport = peer->port;
		key.family = peer->family;
		bpf_map_delete_elem(&sx_udp_peers, &tid);
	}
	if (ret <= 0 || sx_is_self())
		return;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	key.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)key.laddr, sk, __sk_common.skc_rcv_saddr);
		if (!peer) {
			BPF_CORE_READ_INTO((__u32 *)key.raddr, sk, __sk_common.skc_daddr);
			key.rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
			key.family = 4;
		}
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&key.laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		__u8 lfam = sx_unmap(key.laddr);
		if (!peer) {
			BPF_CORE_READ_INTO(&key.raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
			key.rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
			key.family = sx_unmap(key.raddr);
		}
		/* a dual-stack socket bound to :: talking IPv4: the local side is "any" of that family */
		if (key.family == 4 && lfam == 6)
			__builtin_memset(key.laddr, 0, 16);
	} else {
		return;
	}
	__u64 now = bpf_ktime_get_ns();
	struct sx_udp_value *v = bpf_map_lookup_elem(&sx_udp, &key);
	if (!v) {
		struct sx_udp_value nv = {};
		/* last_ns too: the collector may drain the entry before this CPU updates it below, and an
		 * entry read with last_ns 0 would span back to boot (a negative duration once converted). */
		nv.first_ns = now;
		nv.last_ns = now;
		nv.cgroup_id = bpf_get_current_cgroup_id();
		nv.cookie = (__u64)sk;
		nv.pid = tid >> 32;
		sx_process_comm(nv.comm);
		if (bpf_map_update_elem(&sx_udp, &key, &nv, BPF_NOEXIST) && !bpf_map_lookup_elem(&sx_udp, &key)) {
			sx_count(SX_COUNTER_UDP_MAP_FULL);
			return;
		}
		v = bpf_map_lookup_elem(&sx_udp, &key);
		if (!v)
			return;
	}
	if (egress) {
		__sync_fetch_and_add(&v->bytes_out, ret);
		__sync_fetch_and_add(&v->packets_out, 1);
	} else {
		__sync_fetch_and_add(&v->bytes_in, ret);
		__sync_fetch_and_add(&v->packets_in, 1);
	}
	/* Only forward: another CPU that read the clock later may have written already (first_ns ≤ last_ns). */
	if (now > v->last_ns)
		v->last_ns = now;
}

/* BTF-typed raw tracepoints (tp_btf): the arguments as they are, the protocol read without a helper call. Also
 * the hooks of L7 capture (sx_l7_sock_call) on kernels that have them.
 * sock_send_length(struct sock *sk, int ret, int flags) */
SEC("tp_btf/sock_send_length")
int BPF_PROG(sx_sock_send_length, struct sock *sk, int ret, int flags)
{
	__u16 proto = sk->sk_protocol;
	if (proto == IPPROTO_UDP && udp_flows)
		sx_udp_call(sk, ret, 1);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		sx_l7_sock_call(sk, ret, SX_L7_EGRESS);
	return 0;
}

/* sock_recv_length(struct sock *sk, int ret, int flags); MSG_PEEK reads are not counted */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(sx_sock_recv_length, struct sock *sk, int ret, int flags)
{
	__u16 proto = sk->sk_protocol;
	if (proto == IPPROTO_UDP && udp_flows)
		sx_udp_call(sk, (flags & 2 /* MSG_PEEK */) ? 0 : ret, 0);
	/* L7 capture takes peeks as the syscall path did (a recv with MSG_PEEK returns what it copied) */
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		sx_l7_sock_call(sk, ret, SX_L7_INGRESS);
	return 0;
}
