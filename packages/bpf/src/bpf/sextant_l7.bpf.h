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

/* Whether a socket is a TCP stream socket, whose struct sock is a struct tcp_sock (a raw socket of protocol TCP is
 * not: its tcp_sock fields are not there). */
static __always_inline int sx_tcp_stream(struct sock *sk)
{
	return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM;
}

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
	__u8 skipped;   /* how many calls found this socket skipped, up to SX_L7_SKIP_CALLS (the next one gives it its flag) */
	__u8 home;      /* 1: this state lives in its socket's stash slot (sx_l7_state_home), not in sx_l7_socks */
	__u32 xseq;     /* signals: the current exchange's number on this socket (sx_l7_header.xseq) */
};
_Static_assert(sizeof(struct sx_l7_sock) == 40, "sx_l7_sock: no new padding");

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
 * is timed by the caller (write_ns): at its issue on the syscall enter, when it went out on the socket tracepoint
 * (sx_tcp_write_ns). A read is timed in sx_l7_emit, when its data has arrived (an aggregated HTTP socket's by its TCP
 * clock: sx_tcp_read_ns). */
static __always_inline void sx_l7_args_fill(struct sx_l7_args *a, __u64 skey, __u64 ino, __u64 buf, __u32 iovcnt, __u8 kind,
					    __u8 direction, __u8 syscall, __u64 write_ns)
{
	a->sk = skey;
	a->ino = ino;
	a->buf = buf;
	a->iovcnt = iovcnt;
	a->kind = kind;
	a->direction = direction;
	a->syscall = syscall;
	a->ts_ns = direction == SX_L7_EGRESS ? write_ns : 0;
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

#include "sextant_l7_emit.bpf.h"

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
