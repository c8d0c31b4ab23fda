// SPDX-License-Identifier: GPL-2.0
/* Retransmits and resets marked on a TCP socket's connection-level state (included by sextant.bpf.c, after its TCP
 * close handler): counted into the socket's record and its flags, reported at close. */
#pragma once

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(sx_tcp_retransmit_skb, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sx_sock_state *st = bpf_map_lookup_elem(&sx_socks, &key);
	sx_count(SX_COUNTER_RETRANSMITS);
	if (st)
		__sync_fetch_and_add(&st->retransmits, 1);
	return 0;
}

/* tcp_send_reset(sk, skb, reason): sk is NULL for a reset sent in answer to a packet with no socket. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(sx_tcp_send_reset, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sx_sock_state *st = key ? bpf_map_lookup_elem(&sx_socks, &key) : NULL;
	if (st) {
		st->rst_sent = 1;
		st->tcp_flags |= SX_TCP_RST;
	}
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(sx_tcp_receive_reset, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sx_sock_state *st = bpf_map_lookup_elem(&sx_socks, &key);
	if (st) {
		st->rst_recv = 1;
		st->tcp_flags |= SX_TCP_RST;
	}
	return 0;
}
