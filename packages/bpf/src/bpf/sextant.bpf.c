// SPDX-License-Identifier: GPL-2.0
/* Sextant's kernel programs (tracepoints, raw tracepoints and cgroup hooks only: no kprobes on our hosts):
 *  - TCP lifecycle from sock/inet_sock_set_state (BTF raw tracepoint), with per-socket state; stats read from tcp_sock at close
 *    and by a sweep of the socket map that the collector runs periodically (interim reports);
 *  - resets and retransmits (tcp/tcp_send_reset, tcp_receive_reset, tcp_retransmit_skb);
 *  - TCP connect latency and sRTT histograms in the shared bucket scheme;
 *  - UDP flows aggregated per (local, remote) address from the send/receive calls of UDP sockets
 *    (sextant_udp.bpf.h);
 *  - drops from skb/kfree_skb aggregated per (reason, 5-tuple) (sextant_drops.bpf.h);
 *  - L7 capture from the send/receive calls on sockets (sextant_l7.bpf.h). */
#include "sextant.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time knobs. */
const volatile __u32 self_tgid = 0;           /* the collector's own pid: not observed unless 0 */
const volatile __u64 update_interval_ns = 30000000000ULL; /* interim reports of long-lived connections */
const volatile __u64 wakeup_bytes = 262144; /* wake the reader only when this much is pending */
const volatile __u8 l7_enabled = 1;          /* L7 capture programs loaded (their socket map needs cleaning) */

/* Force a wakeup of a ring's reader only as the pending data crosses wakeup_bytes (within a small window above
 * it), not for every record past it: a forced wakeup is an irq_work self-interrupt, ~15 µs in these VMs, and with a
 * reader that lags (its queue towards JS full, see addon.cc) every record would pay it. A reader woken once drains
 * all; one that is busy finds the data when it polls again (or on its 50 ms timer). */
#define SX_WAKEUP_WINDOW 4096
static __always_inline __u64 sx_ringbuf_wakeup(__u64 avail)
{
	return avail >= wakeup_bytes && avail < wakeup_bytes + SX_WAKEUP_WINDOW ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_CLOSE_WAIT 8
#define TCP_LAST_ACK 9
#define TCP_LISTEN 10
#define TCP_CLOSING 11

struct sx_sock_state {
	__u64 start_ns;
	__u64 syn_ns;
	__u64 connect_ns;
	__u64 last_report_ns;
	__u64 last_report_bytes;
	__u64 cgroup_id;
	__u32 pid;
	__u32 retransmits;
	__u16 tcp_flags;
	__u8 direction;
	__u8 established;
	__u8 rst_sent;
	__u8 rst_recv;
	__u8 l7;     /* SX_SOCK_L7*: what L7 state was made for this socket (its close looks up only that), or its NONE */
	__u8 pad;
	char comm[16];
};

/* sx_sock_state.l7: L7 state exists under the socket's key (sx_l7_socks, maybe its stash), under its TLS plaintext key.
 * SX_SOCK_L7_NONE: the socket was given up as a loopback client's server (sx_l7_emit) with no sx_l7_socks state made:
 * this connection-level state holds its class (SX_PROTO_NONE), and the two bits of SX_SOCK_L7_SKIPS how many calls
 * found it so (counted in units of SX_SOCK_L7_SKIPPED, up to SX_L7_SKIP_CALLS: the next one gives it its skip flag,
 * sx_l7_skips). */
#define SX_SOCK_L7 1
#define SX_SOCK_L7_TLS 2
#define SX_SOCK_L7_NONE 4
#define SX_SOCK_L7_SKIPPED 8
#define SX_SOCK_L7_SKIPS (8 | 16)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, __u64);
	__type(value, struct sx_sock_state);
} sx_socks SEC(".maps");

/* Listening sockets by (family << 16 | port): who accepts on that port (struct sx_listener). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sx_listener);
} sx_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024); /* ~0.7 s of 20k connections/s: the native poller drains it on its own thread */
} sx_events SEC(".maps");

/* Waking the user-space reader for every record costs an interrupt per event on busy hosts: wake it only
 * when a good amount is pending; the reader also drains on a short timer (see addon.cc). */
static __always_inline __u64 sx_wakeup_flags(void)
{
	return sx_ringbuf_wakeup(bpf_ringbuf_query(&sx_events, BPF_RB_AVAIL_DATA));
}

static __always_inline int sx_is_self(void)
{
	return self_tgid != 0 && (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

#include "sextant_l7.bpf.h"
#include "sextant_tls.bpf.h"

/* The socket's cgroup by direct (BTF) loads: a faulting load reads 0 instead of calling a helper per hop. */
static __always_inline __u64 sx_sock_cgroup(struct sock *sk)
{
	struct cgroup *cg = sk->sk_cgrp_data.cgroup;
	if (!cg)
		return 0;
	return cg->kn->id;
}

#include "sextant_drops.bpf.h"

static __always_inline void sx_fill_from_state(struct sx_tcp_event *e, struct sx_sock_state *st, __u64 sock_id, __u64 now)
{
	e->sock_id = sock_id;
	e->start_ns = st->start_ns;
	e->end_ns = now;
	e->connect_ns = st->connect_ns;
	e->cgroup_id = st->cgroup_id;
	e->pid = st->pid;
	e->retransmits = st->retransmits;
	e->tcp_flags = st->tcp_flags;
	e->direction = st->direction;
	e->rst_sent = st->rst_sent;
	e->rst_recv = st->rst_recv;
	e->l7_proto = 0;
	e->l7_tls = 0;
	e->l7_records = 0;
	__builtin_memcpy(e->comm, st->comm, sizeof(e->comm));
}

/* The socket's counters and addresses, read with R(pointer, field): plain loads from a BTF pointer in the
 * tracepoint (each BPF_CORE_READ is a helper call), BPF_CORE_READ from the sweep's untyped map key.
 * The local port is inet_sport, not skc_num: by the time a socket closes, releasing its port has zeroed
 * skc_num. */
#define SX_DIRECT_READ(p, f) ((p)->f)
#define SX_FILL_TCP_SOCKET(e, tp, R)                                                                       \
	do {                                                                                               \
		(e)->bytes_acked = R(tp, bytes_acked);                                                     \
		(e)->bytes_received = R(tp, bytes_received);                                               \
		(e)->segs_out = R(tp, segs_out);                                                           \
		(e)->segs_in = R(tp, segs_in);                                                             \
		(e)->total_retrans = R(tp, total_retrans);                                                 \
		(e)->srtt_us = R(tp, srtt_us) >> 3;                                                        \
		__u16 family_ = R(tp, inet_conn.icsk_inet.sk.__sk_common.skc_family);                      \
		(e)->family = family_ == AF_INET6 ? 6 : 4;                                                 \
		(e)->sport = __builtin_bswap16(R(tp, inet_conn.icsk_inet.inet_sport));                     \
		(e)->dport = __builtin_bswap16(R(tp, inet_conn.icsk_inet.sk.__sk_common.skc_dport));       \
		if (family_ == AF_INET6) {                                                                 \
			BPF_CORE_READ_INTO(&(e)->saddr, tp, inet_conn.icsk_inet.sk.__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8); \
			BPF_CORE_READ_INTO(&(e)->daddr, tp, inet_conn.icsk_inet.sk.__sk_common.skc_v6_daddr.in6_u.u6_addr8);     \
		} else {                                                                                   \
			__u32 a_ = R(tp, inet_conn.icsk_inet.sk.__sk_common.skc_rcv_saddr);                 \
			__builtin_memcpy((e)->saddr, &a_, 4);                                              \
			a_ = R(tp, inet_conn.icsk_inet.sk.__sk_common.skc_daddr);                           \
			__builtin_memcpy((e)->daddr, &a_, 4);                                              \
		}                                                                                          \
	} while (0)

/* Histograms are per (cgroup, remote endpoint): the remote address is read from the socket. */
static __always_inline void sx_hist_for(struct sx_sock_state *st, struct sock *sk, __u8 kind, __u64 ns)
{
	struct sx_hist_key key = {};
	key.cgroup_id = st->cgroup_id;
	key.kind = kind;
	key.rport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (sk->__sk_common.skc_family == AF_INET6) {
		key.family = 6;
		BPF_CORE_READ_INTO(&key.raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		key.family = 4;
		__u32 a = sk->__sk_common.skc_daddr;
		__builtin_memcpy(key.raddr, &a, 4);
	}
	sx_hist_record(&key, ns);
}

/* Listening sockets by (family << 16 | local port); the port from inet_sport, which stays set at close (a direct
 * load through the socket cast to inet_sock, which bpf_rdonly_cast costs nothing at run time). */
static __always_inline __u32 sx_listener_key(struct sock *sk)
{
	struct inet_sock *inet = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct inet_sock));
	return ((__u32)sk->__sk_common.skc_family << 16) | __builtin_bswap16(inet->inet_sport);
}

/* The current process's name (its main thread's comm) by direct loads from the BTF task pointer, in the programs
 * that may use bpf_get_current_task_btf (tracing ones); sx_process_comm elsewhere. */
static __always_inline void sx_process_comm_btf(char *dst)
{
	struct task_struct *leader = bpf_get_current_task_btf()->group_leader;
	if (leader)
		__builtin_memcpy(dst, leader->comm, 16);
	else
		bpf_get_current_comm(dst, 16);
}

/* BTF raw tracepoint: the socket and the two states as the kernel passes them, with no trace record
 * filled in (a classic tracepoint copies every field first), so the transitions that do not matter here
 * cost one dispatch. A connection sets state about ten times in its life; only four transitions count:
 * LISTEN (who accepts on a port), SYN_SENT (a client starts), ESTABLISHED (connected / accepted) and CLOSE.
 * Whether FINs were exchanged is read from the state a socket closes from. The socket, its task and their
 * fields are read by direct (BTF) loads, not a helper call per pointer hop; each transition reads the clock and
 * the process only if it keeps them. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sx_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	if (newstate != TCP_CLOSE && newstate != TCP_ESTABLISHED && newstate != TCP_SYN_SENT && newstate != TCP_LISTEN)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u64 key = (__u64)sk;

	if (newstate == TCP_LISTEN) {
		/* listen() runs in the listening process: remember who accepts on this port. */
		struct sx_listener l = {};
		__u32 lkey = sx_listener_key(sk);
		l.pid = bpf_get_current_pid_tgid() >> 32;
		sx_process_comm_btf(l.comm);
		bpf_map_update_elem(&sx_listeners, &lkey, &l, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_LISTEN) {
		__u32 lkey = sx_listener_key(sk);
		bpf_map_delete_elem(&sx_listeners, &lkey);
		return 0;
	}
	if (newstate == TCP_SYN_SENT) {
		/* connect() runs in the connecting process: pid, comm and cgroup are the client's. */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (self_tgid != 0 && tgid == self_tgid)
			return 0;
		struct sx_sock_state st = {};
		__u64 now = bpf_ktime_get_ns();
		st.start_ns = now;
		st.syn_ns = now;
		st.last_report_ns = now;
		st.direction = SX_DIR_CLIENT;
		st.tcp_flags = SX_TCP_SYN;
		st.pid = tgid;
		st.cgroup_id = bpf_get_current_cgroup_id();
		sx_process_comm_btf(st.comm);
		if (bpf_map_update_elem(&sx_socks, &key, &st, BPF_ANY))
			sx_count(SX_COUNTER_SOCK_MAP_FULL);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED) {
		if (oldstate == TCP_SYN_SENT) {
			struct sx_sock_state *st = bpf_map_lookup_elem(&sx_socks, &key);
			if (!st)
				return 0;
			st->connect_ns = bpf_ktime_get_ns() - st->syn_ns;
			st->established = 1;
			st->tcp_flags |= SX_TCP_ACK;
			sx_hist_for(st, sk, SX_HIST_TCP_CONNECT, st->connect_ns);
		} else if (oldstate == TCP_SYN_RECV) {
			/* Softirq context: the current task is unrelated. Identity comes from the socket's cgroup
			 * (inherited from the listener) and from the process that listens on the port. */
			__u32 lkey = sx_listener_key(sk);
			struct sx_listener *l = bpf_map_lookup_elem(&sx_listeners, &lkey);
			if (l && self_tgid != 0 && l->pid == self_tgid)
				return 0; /* connections accepted by the collector itself */
			struct sx_sock_state ns = {};
			__u64 now = bpf_ktime_get_ns();
			ns.start_ns = now;
			ns.last_report_ns = now;
			ns.direction = SX_DIR_SERVER;
			ns.established = 1;
			ns.tcp_flags = SX_TCP_SYN | SX_TCP_ACK;
			ns.cgroup_id = sx_sock_cgroup(sk);
			if (l) {
				ns.pid = l->pid;
				__builtin_memcpy(ns.comm, l->comm, sizeof(ns.comm));
			}
			if (bpf_map_update_elem(&sx_socks, &key, &ns, BPF_ANY))
				sx_count(SX_COUNTER_SOCK_MAP_FULL);
		}
		return 0;
	}

	/* newstate == TCP_CLOSE. Only the L7 state the socket has is looked up (most sockets have none under one key or
	 * both, and each look-up is a cold bucket); all of it when the socket's connection-level state is gone. A request
	 * stashed by the L7 signals mode that was never answered (HTTP sockets only): its record. */
	__u64 tls_key = l7_enabled ? sx_tls_plain_key(key) : 0; /* the socket's TLS plaintext (sextant_tls.bpf.h) */
	struct sx_sock_state *st = bpf_map_lookup_elem(&sx_socks, &key);
	__u8 l7 = !l7_enabled ? 0 : st ? st->l7 : SX_SOCK_L7 | SX_SOCK_L7_TLS;
	__u64 plain = tls_key & ~1ULL; /* the key as a plain number: the stash's slot is computed from it */
	struct sx_l7_sock *ls = l7 & SX_SOCK_L7 ? sx_l7_state(plain, sk->__sk_common.skc_cookie.counter) : NULL;
	struct sx_l7_sock *ps = l7 & SX_SOCK_L7_TLS ? bpf_map_lookup_elem(&sx_l7_socks, &tls_key) : NULL;
	/* What L7 made of this connection, read before the stash is given back (an HTTP socket's state may live in its
	 * slot, which another socket may claim from then on): its decode coverage (apps/collector l7-coverage.ts) and
	 * whether L7 records of it may still be read after this close (the collector then remembers the close for them
	 * only: sx_l7_may_have_records; nearly no socket in signals mode). An orphaned socket (closed by its process before
	 * the final state) has no inode left to compare: its entries were made for this socket anyway, as they are deleted
	 * at every close. (Direct loads: a NULL hop reads 0. Read per entry: the compiler would test `ls || ps` as one OR of
	 * two pointers, which the verifier refuses.) */
	__u8 l7_proto = l7 & SX_SOCK_L7_NONE ? SX_PROTO_NONE : 0, l7_tls = 0, l7_records = 0, ls_home = 0, ls_http = 0;
	/* A skipped socket's flag goes with its state (it may connect again): deleted when its count of skipped calls says
	 * it may have been made (sx_l7_skips), or when the state that would say so is not this socket's (or not there). Most L7 sockets never have one:
	 * their close neither calls the delete nor reads a line of the hints. */
	int flagged = (l7 & SX_SOCK_L7_NONE) && (l7 & SX_SOCK_L7_SKIPS) == SX_SOCK_L7_SKIPS;
	if (ls) {
		__u64 ino = sk->sk_socket->file->f_inode->i_ino;
		l7_proto = !ino || ls->ino == ino ? ls->protocol : 0;
		ls_home = ls->home;
		ls_http = ls->protocol == SX_PROTO_HTTP;
		if (ls->ino != ino || ls->skipped >= SX_L7_SKIP_CALLS)
			flagged = 1;
	} else if (l7 & SX_SOCK_L7) {
		flagged = 1;
	}
	if (flagged) {
		bpf_sk_storage_delete(&sx_l7_skips, sk);
		sx_l7_skip_hint_clear(sk);
	}
	if (ps) {
		__u64 ino = sk->sk_socket->file->f_inode->i_ino;
		if (!ino || ps->ino == ino)
			l7_tls = ps->tls;
	}
	if (l7 & SX_SOCK_L7)
		l7_records |= sx_l7_may_have_records(ls, sk);
	if (l7 & SX_SOCK_L7_TLS)
		l7_records |= sx_l7_may_have_records(ps, sk);
	if (l7_mode == SX_L7_MODE_SIGNALS) {
		if ((l7 & SX_SOCK_L7) && (!ls || ls_http))
			sx_l7_drop_stash(&plain);
		if ((l7 & SX_SOCK_L7_TLS) && (!ps || ps->protocol == SX_PROTO_HTTP))
			sx_l7_drop_stash(&tls_key);
	}
	if (!st)
		return 0;
	if (oldstate == TCP_FIN_WAIT1 || oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSE_WAIT || oldstate == TCP_LAST_ACK ||
	    oldstate == TCP_CLOSING || oldstate == TCP_TIME_WAIT)
		st->tcp_flags |= SX_TCP_FIN;
	/* Straight from an open state to CLOSE, with no FIN exchange, is an abort: tcp_disconnect() and
	 * linger-0 close() set CLOSE before sending their RST, so the reset tracepoint would come too late. */
	if (st->established && !st->rst_recv && (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT)) {
		st->rst_sent = 1;
		st->tcp_flags |= SX_TCP_RST;
	}

	struct sx_tcp_event *e = bpf_ringbuf_reserve(&sx_events, sizeof(*e), 0);
	if (!e) {
		sx_count(SX_COUNTER_RINGBUF_FULL);
		bpf_map_delete_elem(&sx_socks, &key);
		return 0;
	}
	/* sk_protocol is TCP and only full sockets change state here: the socket is a tcp_sock. */
	struct tcp_sock *tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	sx_fill_from_state(e, st, key, bpf_ktime_get_ns());
	SX_FILL_TCP_SOCKET(e, tp, SX_DIRECT_READ);
	e->kind = SX_EVENT_TCP_CLOSE;
	e->final = 1;
	if (!st->established) {
		e->close_reason = st->rst_recv ? SX_CLOSE_REFUSED : SX_CLOSE_TIMEOUT;
		/* A refused connect is one record: its SYN, dropped here for want of a socket when the port
		 * is local, is not reported again as a drop. */
		if (st->rst_recv && st->direction == SX_DIR_CLIENT)
			sx_forget_refused_syn(sk);
	}
	else
		e->close_reason = (st->rst_sent || st->rst_recv) ? SX_CLOSE_RESET : SX_CLOSE_CLOSED;
	if (st->direction == SX_DIR_CLIENT && st->established && e->srtt_us)
		sx_hist_for(st, sk, SX_HIST_TCP_SRTT, (__u64)e->srtt_us * 1000);
	e->l7_proto = l7_proto;
	e->l7_tls = l7_tls;
	e->l7_records = l7_records;
	bpf_ringbuf_submit(e, sx_wakeup_flags());
	sx_count(SX_COUNTER_EVENTS);
	bpf_map_delete_elem(&sx_socks, &key);
	if (ls && !ls_home) /* deleting a key that is not there still takes the bucket's lock */
		bpf_map_delete_elem(&sx_l7_socks, &key);
	if (ps)
		bpf_map_delete_elem(&sx_l7_socks, &tls_key);
	return 0;
}

#include "sextant_tcp_marks.bpf.h"
#include "sextant_sweep.bpf.h"
#include "sextant_udp.bpf.h"
