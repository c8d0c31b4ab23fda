/* L7 capture of the send/receive calls on sockets (no kprobes here). Where the kernel has them (6.3+, x86_64), from
 * the socket tracepoints sock_send_length / sock_recv_length after the data moved (sextant_l7_sock.bpf.h: socket and
 * byte count from the tracepoint, buffer from the syscall's registers); elsewhere from the syscall tracepoints
 * (sextant_l7_syscalls.bpf.h):
 * enter: fd → file → socket → sock; skip sockets already classified as "not ours"; remember the buffer.
 * exit:  copy the first capture_bytes of what the call moved into the sx_l7_events ring (header + data),
 *        classify the connection from its first bytes (HTTP / DNS / Kafka, else NONE: no further cost beyond a
 *        map lookup), and time request → first response bytes on client sockets into latency histograms.
 * Included by sextant.bpf.c (one object, one set of maps); protocol inference is in sextant_l7_classify.bpf.h,
 * the copy of the bytes moved in sextant_l7_copy.bpf.h, the adoption of HTTP/2 joined mid-stream in
 * sextant_l7_h2_midstream.bpf.h. */
#ifndef SEXTANT_L7_BPF_H
#define SEXTANT_L7_BPF_H

const volatile __u32 capture_bytes = 1024;  /* bytes captured per syscall, ≤ SX_L7_MAX_CAPTURE */
/* Server sockets whose client is on loopback: that client's socket is captured too and reports the exchange,
 * so by default the server side is not captured at all (1 = capture both sides). */
const volatile __u8 capture_loopback_servers = 0;
/* SX_L7_MODE_FULL / SIGNALS (HTTP/1.x aggregated in the kernel, sextant_l7_signals.bpf.h) / HOOKS (benchmarks). */
const volatile __u8 l7_mode = SX_L7_MODE_SIGNALS;

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

#define SX_SYS_READ 1
#define SX_SYS_WRITE 2
#define SX_SYS_READV 3
#define SX_SYS_WRITEV 4
#define SX_SYS_RECVFROM 5
#define SX_SYS_SENDTO 6
#define SX_SYS_RECVMSG 7
#define SX_SYS_SENDMSG 8

#define SX_SYS_RECVMMSG 9
#define SX_SYS_SENDMMSG 10

#define SX_ARGS_BUF 0
#define SX_ARGS_IOV 1
#define SX_ARGS_MMSG 2
/* Messages of one sendmmsg/recvmmsg captured (a resolver sends its A and AAAA queries in one call). */
#define SX_L7_MAX_MMSG 2

/* iovecs walked per call (bpf_loop: verified once, whatever the count). node's http2 sends a burst of
 * streams as one writev of one buffer per frame (30 requests: 32 iovecs); the copy still stops at capture_bytes. */
#define SX_L7_MAX_IOV 64
/* How many first chunks may be too short to classify before a socket is given up. */
#define SX_L7_CLASSIFY_TRIES 4

/* A syscall in flight on one thread, from enter to exit. */
struct sx_l7_args {
	__u64 sk;
	__u64 ino;
	__u64 buf;     /* data pointer (BUF) or iovec array (IOV) */
	__u64 ts_ns;
	__u32 iovcnt;
	__u8 kind;
	__u8 direction;
	__u8 syscall;
	__u8 tls;      /* SX_TLS_*: plaintext from the uprobes (sextant_tls.bpf.h), its socket state kept apart */
};

/* Per-thread (task-local storage: no hashing, no global lock) and never more than one syscall at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sx_l7_args);
} sx_l7_args_map SEC(".maps");

/* Per-socket L7 state: inferred protocol, the client-side request timer for the histograms, and the signals
 * mode's exchange (sextant_l7_signals.bpf.h). */
struct sx_l7_sock {
	__u64 ino;      /* the socket inode: a socket reusing a freed struct sock starts afresh */
	__u64 req_ns;
	__u64 x_req_ns; /* signals: the stashed request's time (as its header's ts_ns) */
	__u8 protocol;
	__u8 tries;
	__u8 role;      /* SX_DIR_CLIENT when the first bytes were a request sent or a response received */
	__u8 awaiting;  /* a request was sent, its response has not started */
	__u8 full;      /* signals: this socket left AGG mode (every chunk a record, kept 0) */
	__u8 xstate;    /* signals: SX_X_IDLE / AWAITING / RESPONDING */
	__u8 kept;      /* signals: the current exchange's kept reason */
	__u8 method;    /* signals: the stashed request's SX_HTTP_METHOD_* */
	__u8 tls;       /* SX_TLS_* for the state of a socket's TLS plaintext (key + 1), 0 for its syscalls */
	__u8 records;   /* a record of this state went to the L7 ring (its TCP close says so: sx_tcp_event.l7_records) */
	__u8 skipped;   /* a skipped socket's call found it so here (the next one gives it its flag, sx_l7_skips) */
	__u32 xseq;     /* signals: the current exchange's number on this socket (sx_l7_header.xseq) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sx_l7_sock);
} sx_l7_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} sx_l7_events SEC(".maps");

/* Scratch record: header + room for masked offset (< MAX) + masked length (< 2 MAX), so the verifier can
 * prove every copy in bounds. */
struct sx_l7_record {
	struct sx_l7_header h;
	__u8 data[3 * SX_L7_MAX_CAPTURE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sx_l7_record);
} sx_l7_scratch SEC(".maps");

/* A no-op after the clamps above, done in asm so the compiler keeps it: a bound the verifier can see. */
#define sx_bound(v) asm volatile("%0 &= 0x1fff" : "+r"(v))

/* TLS plaintext (sextant_tls.bpf.h): a socket syscall tells the thread's SSL calls which socket they use. */
static __always_inline void sx_tls_on_syscall(__u64 sk, __u64 ino, __u8 direction, int may_create);

extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;

/* The 64-bit word at a kernel address (a pointer kept in kernel memory, read as a plain number: map keys and
 * arithmetic, which the verifier forbids on a BTF pointer), by a direct load through a cast instead of a
 * bpf_probe_read_kernel call: a faulting load reads 0. timespec64 starts with a 64-bit integer in every kernel. */
static __always_inline __u64 sx_kernel_word(const void *addr)
{
	const struct timespec64 *w = bpf_rdonly_cast(addr, bpf_core_type_id_kernel(struct timespec64));
	return (__u64)w->tv_sec;
}

/* The file at fd in task's fd table; NULL when fd is outside the table or the slot is empty. Direct (BTF) loads; the
 * slot (an array of pointers to pointers has no BTF type to walk) through sx_kernel_word. Shared by the syscall enter
 * (sx_fd_sock) and the socket tracepoints (sx_l7_sock_call). */
static __always_inline struct file *sx_fd_file(struct task_struct *task, int fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = task->files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	__u64 fp = sx_kernel_word(&fds[fd]);
	if (!fp)
		return NULL;
	return bpf_rdonly_cast((void *)fp, bpf_core_type_id_kernel(struct file));
}

/* What this socket's calls were classified as: SX_PROTO_UNKNOWN when not yet (no state, or the state of an earlier
 * socket that reused the same struct sock: the inode tells them apart). */
static __always_inline __u8 sx_l7_known(struct sx_l7_sock *ls, __u64 ino)
{
	return ls && ls->ino == ino ? ls->protocol : SX_PROTO_UNKNOWN;
}

/* A socket classified as not ours to copy (nothing L7, TLS ciphertext, HTTP/2 joined mid-stream): its calls stop here. */
static __always_inline int sx_l7_skipped(__u8 known)
{
	return known == SX_PROTO_NONE || known == SX_PROTO_TLS || known == SX_PROTO_HTTP2_MIDSTREAM;
}

/* A TCP socket given up as a loopback client's server without L7 state of its own (sx_l7_emit): its connection-level
 * state, or NULL. Looked up only when the socket has no sx_l7_socks state of its own classified. */
static __always_inline struct sx_sock_state *sx_l7_none_state(__u64 skey)
{
	struct sx_sock_state *st = bpf_map_lookup_elem(&sx_socks, &skey);
	return st && (st->l7 & SX_SOCK_L7_NONE) ? st : NULL;
}

/* Whether a read of this socket may start a thread's TLS pairing state (sx_tls_on_syscall): not when its bytes were
 * classified as something other than TLS. A thread that calls SSL functions has that state from its first call;
 * without this, every thread reading any TCP socket got one and wrote to it on every read. */
static __always_inline int sx_l7_may_be_tls(__u8 known)
{
	return known == SX_PROTO_UNKNOWN || known == SX_PROTO_TLS;
}

/* One call's arguments as sx_l7_emit reads them; a->tls is left to the caller (0 for a socket's own calls). A write
 * is timed here: at its issue on the syscall enter, at its completion on the socket tracepoint. A read is timed in
 * sx_l7_emit, when its data has arrived. */
static __always_inline void sx_l7_args_fill(struct sx_l7_args *a, __u64 skey, __u64 ino, __u64 buf, __u32 iovcnt, __u8 kind,
					    __u8 direction, __u8 syscall)
{
	a->sk = skey;
	a->ino = ino;
	a->buf = buf;
	a->iovcnt = iovcnt;
	a->kind = kind;
	a->direction = direction;
	a->syscall = syscall;
	a->ts_ns = direction == SX_L7_EGRESS ? bpf_ktime_get_ns() : 0;
}

#include "sextant_l7_classify.bpf.h"

static __always_inline int sx_peer_is_loopback(struct sock *sk, __u16 family)
{
	if (family == AF_INET)
		return (BPF_CORE_READ(sk, __sk_common.skc_daddr) & 0xff) == 127;
	__u8 a[16];
	BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	int zeros = 1;
	for (int i = 0; i < 10; i++)
		zeros &= a[i] == 0;
	if (!zeros)
		return 0;
	if (a[10] == 0xff && a[11] == 0xff) /* v4-mapped */
		return a[12] == 127;
	return a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 1;
}

static __always_inline __u8 sx_hist_kind(__u8 protocol)
{
	return protocol == SX_PROTO_HTTP ? SX_HIST_HTTP : protocol == SX_PROTO_DNS ? SX_HIST_DNS : SX_HIST_KAFKA;
}

#include "sextant_l7_copy.bpf.h"

#include "sextant_l7_signals.bpf.h"

#include "sextant_l7_h2_midstream.bpf.h"

/* One message of `len` bytes moved by the syscall: classify, time, and emit header + first bytes. `known`: the
 * socket's state under a->sk as the caller looked it up (its inode not checked yet), or NULL; `conn`: its
 * connection-level state when the caller looked that up (else it is looked up here where needed). */
static __always_inline void sx_l7_emit(struct sx_l7_args *a, __u64 buf, __u32 iovcnt, __u8 kind, __u32 len, __u64 id,
				       struct sx_l7_sock *known, struct sx_sock_state *conn)
{
	/* signals mode: an aggregated socket's chunk is decided from its first bytes before any copy (the message's own
	 * buffer: a mmsg call's messages each have theirs) */
	a->buf = buf;
	a->iovcnt = iovcnt;
	a->kind = kind;
	if (l7_mode == SX_L7_MODE_SIGNALS && sx_l7_agg_fast(a, known, len) > 0)
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
	struct sx_l7_sock *ls = bpf_map_lookup_elem(&sx_l7_socks, &key);
	if (ls && ls->ino != a->ino) {
		bpf_map_delete_elem(&sx_l7_socks, &key);
		sx_l7_drop_stash(&key); /* an earlier socket's request, never answered */
		ls = NULL;
	}
	__u8 p0 = 0xff; /* a new socket's class, when worked out before its state is made */
	if (!ls) {
		/* A TCP socket whose first bytes make it a loopback client's server (not captured, below): its class goes into
		 * its connection-level state, which its calls and its close look up anyway, instead of an sx_l7_socks element
		 * made, looked up and deleted at close (on a new connection per request, nginx's server socket). TLS plaintext
		 * and sockets without that state (older than the probes) take the path below. */
		if (!a->tls && l4 == IPPROTO_TCP && !capture_loopback_servers && !(captured >= 9 && r->data[0] == 0)) {
			p0 = sx_is_tls_record(r->data, captured) ? SX_PROTO_TLS : sx_classify(r->data, captured, l4, sport, dport);
			int response = p0 == SX_PROTO_HTTP && r->data[0] == 'H' && r->data[1] == 'T';
			if (p0 != SX_PROTO_UNKNOWN && p0 != SX_PROTO_NONE && p0 != SX_PROTO_TLS &&
			    (a->direction == SX_L7_EGRESS) == response && sx_peer_is_loopback(sk, family)) {
				struct sx_sock_state *st = conn ? conn : bpf_map_lookup_elem(&sx_socks, &a->sk);
				if (st) {
					st->l7 |= SX_SOCK_L7_NONE;
					return;
				}
			}
		}
		struct sx_l7_sock ns = {};
		ns.ino = a->ino;
		ns.tls = a->tls;
		ns.role = a->direction == SX_L7_EGRESS ? SX_DIR_CLIENT : SX_DIR_SERVER;
		if (bpf_map_update_elem(&sx_l7_socks, &key, &ns, BPF_NOEXIST) && !bpf_map_lookup_elem(&sx_l7_socks, &key)) {
			sx_count(SX_COUNTER_L7_SOCK_MAP_FULL);
			return;
		}
		ls = bpf_map_lookup_elem(&sx_l7_socks, &key);
		if (!ls)
			return;
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
	/* Writes are timed when issued, reads when their data arrived (exit). */
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

/* Whether records of a socket's L7 state (or its TLS plaintext's) may have gone to the L7 ring: one did (every
 * record goes out through sx_l7_emit, which marks the state), its unanswered request is emitted at this close (the
 * stash drop: a request awaiting its response), or the state is missing or another socket's (nothing known). */
static __always_inline __u8 sx_l7_may_have_records(struct sx_l7_sock *ls, struct sock *sk)
{
	if (!ls)
		return 1;
	__u64 ino = sk->sk_socket->file->f_inode->i_ino;
	return (ino && ls->ino != ino) || ls->records || ls->xstate == SX_X_AWAITING;
}

#include "sextant_l7_syscalls.bpf.h"

#include "sextant_l7_sock.bpf.h"

#endif
