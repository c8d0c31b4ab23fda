// SPDX-License-Identifier: GPL-2.0
/* The generic L7 path (included by sextant_l7.bpf.h): one message a send/receive call moved, classified, timed and
 * emitted as a record header + its first bytes (or decided by the signals mode); called by the syscall exits
 * (sextant_l7_syscalls.bpf.h) and the socket tracepoints (sextant_l7_sock.bpf.h). */
#pragma once

/* One message of `len` bytes moved by the syscall: classify, time, and emit header + first bytes. `known`: the
 * socket's state under a->sk as the caller looked it up (its inode not checked yet), or NULL; `conn`: its
 * connection-level state when the caller looked that up (else it is looked up here where needed); `tsk`: the socket
 * as the socket tracepoints have it (NULL elsewhere): a new HTTP socket's state is then made in its stash slot. */
static __always_inline void sx_l7_emit(struct sx_l7_args *a, __u64 buf, __u32 iovcnt, __u8 kind, __u32 len, __u64 id,
				       struct sx_l7_sock *known, struct sx_sock_state *conn, struct sock *tsk)
{
	/* signals mode: an aggregated socket's chunk is decided from its first bytes before any copy (the message's own
	 * buffer: a mmsg call's messages each have theirs) */
	a->buf = buf;
	a->iovcnt = iovcnt;
	a->kind = kind;
	if (l7_mode == SX_L7_MODE_SIGNALS && sx_l7_agg_fast(a, known, tsk != NULL, len) > 0)
		return;
	__u32 zero = 0;
	struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
	if (!r)
		return;
	__u32 cap = capture_bytes;
	if (cap > SX_L7_MAX_CAPTURE)
		cap = SX_L7_MAX_CAPTURE;
	__u32 captured = sx_l7_copy(r, buf, iovcnt, kind, len < cap ? len : cap);

	struct sock *sk = bpf_rdonly_cast((void *)a->sk, bpf_core_type_id_kernel(struct sock)); /* direct loads */
	__u16 family = sk->__sk_common.skc_family;
	__u16 l4 = sk->sk_protocol;
	__u16 sport = sk->__sk_common.skc_num;
	__u16 dport = __builtin_bswap16(sk->__sk_common.skc_dport);

	/* TLS plaintext keeps its own state (protocol, role, exchange) under the socket's address + 1. */
	__u64 key = a->sk | (a->tls ? 1 : 0);
	/* the caller's look-up of the socket's own state, or this one (TLS plaintext: its own key, always in the map). The
	 * socket tracepoints always looked (tsk): their NULL is a new socket's, not looked up twice more here and in
	 * sx_l7_agg_fast (a cold bucket of sx_l7_socks each). */
	struct sx_l7_sock *ls = (known || tsk) && !a->tls ? known : sx_l7_state(key, a->tls ? 0 : sk->__sk_common.skc_cookie.counter);
	if (ls && ls->ino != a->ino) {
		if (!ls->home)
			bpf_map_delete_elem(&sx_l7_socks, &key);
		sx_l7_drop_stash(&key); /* an earlier socket's request, never answered (and its state, when it lived there) */
		ls = NULL;
	}
	__u8 p0 = 0xff; /* a new socket's class, when worked out before its state is made */
	if (!ls) {
		/* A TCP socket whose first bytes make it a loopback client's server (not captured, below): its class goes into
		 * its connection-level state, which its calls and its close look up anyway, instead of an sx_l7_socks element
		 * made, looked up and deleted at close (on a new connection per request, nginx's server socket). TLS plaintext
		 * and sockets without that state (older than the probes) take the path below. A new HTTP socket of the socket
		 * tracepoints in signals mode has its state made in its stash slot (sx_l7_state_home). */
		int home = 0;
		if (!a->tls && l4 == IPPROTO_TCP && !(captured >= 9 && r->data[0] == 0)) {
			p0 = sx_is_tls_record(r->data, captured) ? SX_PROTO_TLS : sx_classify(r->data, captured, l4, sport, dport);
			int response = p0 == SX_PROTO_HTTP && r->data[0] == 'H' && r->data[1] == 'T';
			int given_up = !capture_loopback_servers && p0 != SX_PROTO_UNKNOWN && p0 != SX_PROTO_NONE && p0 != SX_PROTO_TLS &&
				       (a->direction == SX_L7_EGRESS) == response && sx_peer_is_loopback(sk, family);
			if (given_up) {
				struct sx_sock_state *st = conn ? conn : bpf_map_lookup_elem(&sx_socks, &a->sk);
				if (st) {
					st->l7 |= SX_SOCK_L7_NONE;
					return;
				}
			}
			home = tsk && p0 == SX_PROTO_HTTP && !given_up && l7_mode == SX_L7_MODE_SIGNALS;
		}
		struct sx_l7_sock ns = {};
		ns.ino = a->ino;
		ns.tls = a->tls;
		ns.role = a->direction == SX_L7_EGRESS ? SX_DIR_CLIENT : SX_DIR_SERVER;
		if (home && tsk) { /* tsk again: the verifier does not tie `home` to it, and the cookie helper needs it */
			bpf_get_socket_cookie(tsk); /* before its state is in the stash: sx_l7_state looks there only then */
			ls = sx_l7_state_home(key, &ns);
		}
		if (!ls) {
			if (bpf_map_update_elem(&sx_l7_socks, &key, &ns, BPF_NOEXIST) && !bpf_map_lookup_elem(&sx_l7_socks, &key)) {
				sx_count(SX_COUNTER_L7_SOCK_MAP_FULL);
				return;
			}
			ls = bpf_map_lookup_elem(&sx_l7_socks, &key);
			if (!ls)
				return;
		}
		/* its TCP close looks this state up (and its stash): the connection-level state says it exists */
		if (l4 == IPPROTO_TCP) {
			struct sx_sock_state *st = conn ? conn : bpf_map_lookup_elem(&sx_socks, &a->sk);
			if (st)
				st->l7 |= a->tls ? SX_SOCK_L7_TLS : SX_SOCK_L7;
		}
	}
	if (ls->protocol == SX_PROTO_UNKNOWN) {
		__u8 p = p0 != 0xff ? p0
			 : !a->tls && l4 == IPPROTO_TCP && sx_is_tls_record(r->data, captured) ? SX_PROTO_TLS
											 : sx_classify(r->data, captured, l4, sport, dport);
		if (captured >= 9 && r->data[0] == 0 && !a->tls && l4 == IPPROTO_TCP && sx_l7_h2_midstream(a->sk, captured, len)) {
			ls->protocol = SX_PROTO_HTTP2_MIDSTREAM; /* no records: its syscalls are skipped from now on */
			return;
		}
		if (p == SX_PROTO_UNKNOWN && ++ls->tries >= SX_L7_CLASSIFY_TRIES)
			p = SX_PROTO_NONE;
		/* The start of what may be a TLS record (nginx peeks at one byte): no ciphertext goes out before it is known. */
		if (p == SX_PROTO_UNKNOWN && !a->tls && l4 == IPPROTO_TCP && captured < 3 && r->data[0] == 0x16)
			return;
		if (p != SX_PROTO_UNKNOWN && p != SX_PROTO_NONE) {
			/* Who sent the first bytes, and whether they are a request: a status line read is a client
			 * socket's. The first bytes seen are not always the first sent: TCP_CLOSE forgets a socket's
			 * state, and a client reset by its server (a POST answered early, a server closing with
			 * requests unread) still reads the responses queued before the RST. */
			int response = p == SX_PROTO_HTTP && r->data[0] == 'H' && r->data[1] == 'T';
			ls->role = (a->direction == SX_L7_EGRESS) != response ? SX_DIR_CLIENT : SX_DIR_SERVER;
			if (p != SX_PROTO_TLS && ls->role == SX_DIR_SERVER && !capture_loopback_servers && sx_peer_is_loopback(sk, family))
				p = SX_PROTO_NONE;
		}
		ls->protocol = p;
		if (p == SX_PROTO_NONE)
			return;
		if (p == SX_PROTO_TLS)
			captured = 0; /* one header-only record: the socket is TLS; its syscalls are skipped from now on */
	}

	__u64 now = bpf_ktime_get_ns();
	/* Client sockets: request sent → first response bytes, exact when requests are not pipelined. */
	int answered = 0; /* the first bytes of the awaited response: timed below */
	if (ls->protocol != SX_PROTO_UNKNOWN && ls->protocol != SX_PROTO_HTTP2 && ls->protocol != SX_PROTO_TLS && ls->role == SX_DIR_CLIENT) {
		if (a->direction == SX_L7_EGRESS && !ls->awaiting) {
			ls->req_ns = a->ts_ns;
			ls->awaiting = 1;
		} else if (a->direction == SX_L7_INGRESS && ls->awaiting) {
			answered = 1;
		}
	}

	struct sx_l7_header *h = &r->h;
	h->sock_id = a->sk;
	h->sock_ino = a->ino;
	/* Writes are timed by the caller (sx_l7_args_fill), reads when their data arrived (exit). */
	h->ts_ns = a->direction == SX_L7_EGRESS ? a->ts_ns : now;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = id >> 32;
	h->total_len = len;
	h->captured_len = captured;
	h->sport = sport;
	h->dport = dport;
	h->family = family == AF_INET6 ? 6 : 4;
	h->transport = (__u8)l4;
	h->direction = a->direction;
	h->protocol = ls->protocol;
	h->syscall = a->syscall;
	h->role = ls->role;
	h->kept = SX_KEPT_NONE;
	h->tls = a->tls;
	h->xseq = 0; /* set by sx_l7_signals for an aggregated socket's exchange */
	h->pad2 = 0;
	__builtin_memset(h->saddr, 0, sizeof(h->saddr));
	__builtin_memset(h->daddr, 0, sizeof(h->daddr));
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&h->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&h->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		BPF_CORE_READ_INTO((__u32 *)h->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)h->daddr, sk, __sk_common.skc_daddr);
	}
	sx_process_comm(h->comm);
	int emit = 1;
	if (l7_mode == SX_L7_MODE_SIGNALS && ls->protocol == SX_PROTO_HTTP && !ls->full)
		emit = sx_l7_signals(r, ls, &key, captured, now);
	/* The latency histogram (sx_hist) of a client's exchange, unless it was aggregated: sx_l7_signals then cleared
	 * `awaiting`, the aggregate's histogram holds it and the collector adds it to this one's HTTP kind. */
	if (answered && ls->awaiting) {
		ls->awaiting = 0;
		if (dport) {
			struct sx_hist_key hk = {};
			hk.cgroup_id = h->cgroup_id;
			hk.kind = sx_hist_kind(ls->protocol);
			hk.family = h->family;
			hk.rport = dport;
			__builtin_memcpy(hk.raddr, h->daddr, sizeof(hk.raddr));
			sx_hist_record(&hk, now - ls->req_ns);
		}
	}
	if (emit) {
		ls->records = 1;
		sx_l7_output(r, captured);
	}
}
