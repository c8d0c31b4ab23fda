// SPDX-License-Identifier: GPL-2.0
/* TLS plaintext from uprobes on OpenSSL's SSL_read / SSL_write / SSL_read_ex / SSL_write_ex (included by
 * sextant.bpf.c after sextant_l7.bpf.h). The collector attaches these programs per binary file: libssl.so.3
 * (curl, nginx, python) with attach cookie SX_TLS_OPENSSL, the node binary (its static OpenSSL 3) with
 * SX_TLS_NODE; the cookie becomes sx_l7_header.tls.
 *
 * Entry remembers (SSL*, buffer, length pointer) in task storage; the return probe emits the bytes the call
 * moved through sx_l7_emit, as a syscall's would be, under the socket the SSL object is paired with. Pairing
 * SSL* → socket (map sx_tls_socks, per process):
 *  - socket BIOs (libssl's default): the read/write syscalls happen inside SSL_read/SSL_write on the same
 *    thread, so a socket syscall while the thread is inside an SSL call pairs that SSL object with its socket;
 *  - memory BIOs (node, python asyncio): the syscalls happen outside the SSL calls on the same thread: the
 *    ciphertext is read from the socket, then the SSL object is called (node: SSL_write of a pending write, or
 *    SSL_read; measured). The first SSL call after a socket read takes that read (consumed) and pairs an
 *    unpaired SSL object with its socket, unless another live SSL object owns that socket (a read that found
 *    nothing, EAGAIN, leaves a stale read behind: a new connection's first call, producing its ClientHello,
 *    must not take it). An SSL_write that still finds no pairing leaves its SSL object pending: the thread's next
 *    write to a TLS socket pairs it (that write's plaintext is lost, counted in SX_COUNTER_TLS_UNPAIRED).
 * A pairing holds while its socket's syscall state (sx_l7_socks, deleted at TCP close) has the same inode: an
 * SSL object freed and reallocated for a new connection is paired afresh. SSL_read can return buffered
 * plaintext without a syscall: the cached pairing serves it. Go's crypto/tls does not use OpenSSL: a later step. */
#pragma once

#define SX_SYS_SSL_WRITE 11
#define SX_SYS_SSL_READ 12

/* The SSL call in flight on one thread, and what pairs memory-BIO SSL objects with their sockets. */
struct sx_tls_task {
	__u64 ssl;      /* SSL* of the call in flight, 0 when none */
	__u64 buf;
	__u64 lenp;     /* *_ex: where the call writes the byte count */
	__u64 ts_ns;
	__u64 read_sk;  /* the thread's last socket read (syscall enter) and its inode */
	__u64 read_ino;
	__u64 pend_ssl; /* an SSL_write that found no pairing: the thread's next TLS socket write pairs it */
	__u8 direction;
	__u8 ex;
	__u8 tls;
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sx_tls_task);
} sx_tls_tasks SEC(".maps");

/* SSL objects are per process: the key is (process, SSL*). */
struct sx_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct sx_tls_sock {
	__u64 sk;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sx_tls_key);
	__type(value, struct sx_tls_sock);
} sx_tls_socks SEC(".maps");

/* The other way round: socket → the SSL object paired with it last (SSL* in ssl, process in tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sx_tls_key);
} sx_tls_owners SEC(".maps");

/* The key of a socket's TLS plaintext state in sx_l7_socks / sx_l7_stash (its address + 1, as sx_l7_emit). From a
 * BTF socket pointer the verifier forbids arithmetic: the value is copied out as a plain number first. */
static __always_inline __u64 sx_tls_plain_key(__u64 sk)
{
	__u64 k = 0;
	bpf_probe_read_kernel(&k, sizeof(k), &sk);
	return k | 1;
}

static __always_inline struct sx_tls_key sx_tls_key_of(__u64 ssl)
{
	struct sx_tls_key k = {};
	k.ssl = ssl;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	return k;
}

/* The inode of the socket file a struct sock (a plain number) has now; 0 when it has none. */
static __always_inline __u64 sx_tls_sock_ino(__u64 sk)
{
	struct sock *s = (struct sock *)sk;
	return BPF_CORE_READ(s, sk_socket, file, f_inode, i_ino);
}

/* A loopback client's server given up as NONE keeps that in its connection-level state, not in sx_l7_socks
 * (sx_l7_emit): it is the socket of that inode while it has one. */
static __always_inline int sx_tls_none_socket(__u64 sk, __u64 ino)
{
	return ino && sx_l7_none_state(sk) && sx_tls_sock_ino(sk) == ino;
}

/* Whether the syscall path saw this socket (same inode) and found TLS (or bytes it could not classify, as a
 * connection first seen mid-stream): the sockets an SSL object may be paired with from outside its calls. */
static __always_inline int sx_tls_socket(__u64 sk, __u64 ino)
{
	struct sx_l7_sock *ls = sx_l7_state(sk, sx_sock_cookie_of(sk));
	if (ls && ls->ino == ino)
		return ls->protocol == SX_PROTO_TLS || ls->protocol == SX_PROTO_NONE;
	return sx_tls_none_socket(sk, ino);
}

/* The pairing of an SSL object, if its socket is still the one paired. */
static __always_inline struct sx_tls_sock *sx_tls_paired(struct sx_tls_key *k)
{
	struct sx_tls_sock *p = bpf_map_lookup_elem(&sx_tls_socks, k);
	if (!p)
		return NULL;
	struct sx_l7_sock *ls = sx_l7_state(p->sk, sx_sock_cookie_of(p->sk));
	if (ls && ls->ino == p->ino)
		return p;
	return sx_tls_none_socket(p->sk, p->ino) ? p : NULL;
}

static __always_inline void sx_tls_pair(__u64 ssl, __u64 sk, __u64 ino)
{
	struct sx_tls_key k = sx_tls_key_of(ssl);
	struct sx_tls_sock *p = bpf_map_lookup_elem(&sx_tls_socks, &k);
	if (p && p->sk == sk && p->ino == ino)
		return;
	struct sx_tls_sock v = { .sk = sk, .ino = ino };
	bpf_map_update_elem(&sx_tls_socks, &k, &v, BPF_ANY);
	bpf_map_update_elem(&sx_tls_owners, &sk, &k, BPF_ANY);
}

/* Pairing from outside the SSL calls (memory BIOs): only a socket no other live SSL object is paired with. */
static __always_inline void sx_tls_pair_outside(__u64 ssl, __u64 sk, __u64 ino)
{
	if (!sx_tls_socket(sk, ino))
		return;
	struct sx_tls_key *o = bpf_map_lookup_elem(&sx_tls_owners, &sk);
	if (o && o->ssl != ssl) {
		struct sx_tls_key ok = *o;
		struct sx_tls_sock *op = sx_tls_paired(&ok);
		if (op && op->sk == sk)
			return;
	}
	sx_tls_pair(ssl, sk, ino);
}

/* Called by sx_l7_enter for every TCP socket syscall. A read creates the thread's storage: a node client's first
 * hooked SSL call can come after the read of the server's handshake, which must pair it. */
static __always_inline void sx_tls_on_syscall(__u64 sk, __u64 ino, __u8 direction, int may_create)
{
	struct task_struct *task = bpf_get_current_task_btf();
	int create = direction == SX_L7_INGRESS && may_create;
	/* A thread with no task storage of any map (most threads: no SSL call, no mmsg call) has no pairing state: one
	 * load instead of the helper's look-up. */
	if (!create && !task->bpf_storage)
		return;
	struct sx_tls_task *t = bpf_task_storage_get(&sx_tls_tasks, task, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!t)
		return;
	if (t->ssl) { /* inside SSL_read/SSL_write: a socket BIO doing its I/O */
		sx_tls_pair(t->ssl, sk, ino);
		return;
	}
	if (direction == SX_L7_INGRESS) {
		t->read_sk = sk;
		t->read_ino = ino;
	} else if (t->pend_ssl) {
		sx_tls_pair_outside(t->pend_ssl, sk, ino);
		t->pend_ssl = 0;
	}
}

static __always_inline int sx_tls_entry(struct pt_regs *ctx, __u8 direction, __u8 ex)
{
	if (l7_mode == SX_L7_MODE_HOOKS || sx_is_self())
		return 0;
	struct sx_tls_task *t = bpf_task_storage_get(&sx_tls_tasks, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t) {
		sx_count(SX_COUNTER_L7_ARGS_MAP_FULL);
		return 0;
	}
	__u64 ssl = PT_REGS_PARM1(ctx);
	t->ssl = ssl;
	t->buf = direction ? PT_REGS_PARM2(ctx) : 0;
	t->lenp = ex ? PT_REGS_PARM4(ctx) : 0;
	t->ts_ns = bpf_ktime_get_ns();
	t->direction = direction;
	t->ex = ex;
	t->tls = (__u8)bpf_get_attach_cookie(ctx);
	/* A memory BIO's first call after the read of its ciphertext on this thread. */
	if (t->read_sk) {
		__u64 rsk = t->read_sk;
		t->read_sk = 0;
		struct sx_tls_key k = sx_tls_key_of(ssl);
		if (!sx_tls_paired(&k))
			sx_tls_pair_outside(ssl, rsk, t->read_ino);
	}
	return 0;
}

/* SSL_do_handshake moves no plaintext: it only pairs (node drives its client handshake with it, before any
 * SSL_read, so its first SSL_write would find no pairing). Its return probe only ends the call. */
SEC("uprobe")
int sx_tls_handshake_entry(struct pt_regs *ctx) { return sx_tls_entry(ctx, 0, 0); }
SEC("uprobe")
int sx_tls_read_entry(struct pt_regs *ctx) { return sx_tls_entry(ctx, SX_L7_INGRESS, 0); }
SEC("uprobe")
int sx_tls_write_entry(struct pt_regs *ctx) { return sx_tls_entry(ctx, SX_L7_EGRESS, 0); }
SEC("uprobe")
int sx_tls_read_ex_entry(struct pt_regs *ctx) { return sx_tls_entry(ctx, SX_L7_INGRESS, 1); }
SEC("uprobe")
int sx_tls_write_ex_entry(struct pt_regs *ctx) { return sx_tls_entry(ctx, SX_L7_EGRESS, 1); }

/* The return of any of the five: the bytes moved (ret > 0; *_ex: ret > 0 and the count at lenp). The *_ex
 * programs also serve OpenSSL's ssl_read_internal / ssl_write_internal, probed by file offset instead of the
 * thin SSL_x / SSL_x_ex wrappers where those would be single-stepped (probe-sites.ts): same arguments, an int
 * result > 0 on success (SSL_x_ex returns 1 then). The result is an int: rax's upper half is not looked at. */
SEC("uretprobe")
int sx_tls_return(struct pt_regs *ctx)
{
	if (l7_mode == SX_L7_MODE_HOOKS)
		return 0;
	struct sx_tls_task *t = bpf_task_storage_get(&sx_tls_tasks, bpf_get_current_task_btf(), 0, 0);
	if (!t || !t->ssl)
		return 0;
	__u64 ssl = t->ssl;
	t->ssl = 0;
	if (!t->direction) /* SSL_do_handshake */
		return 0;
	long ret = PT_REGS_RC(ctx);
	__u64 len = 0;
	if (t->ex) {
		if ((int)ret <= 0 || bpf_probe_read_user(&len, sizeof(len), (void *)t->lenp))
			return 0;
	} else {
		if ((int)ret <= 0)
			return 0;
		len = (__u32)(int)ret;
	}
	if (!len)
		return 0;
	struct sx_tls_key k = sx_tls_key_of(ssl);
	struct sx_tls_sock *p = sx_tls_paired(&k);
	if (!p) {
		if (t->direction == SX_L7_EGRESS)
			t->pend_ssl = ssl;
		sx_count(SX_COUNTER_TLS_UNPAIRED);
		return 0;
	}
	/* The plaintext side of a socket given up (not ours, or a loopback server's): nothing to copy. */
	__u64 pkey = p->sk | 1;
	struct sx_l7_sock *ls = bpf_map_lookup_elem(&sx_l7_socks, &pkey);
	if (ls && ls->ino == p->ino && ls->protocol == SX_PROTO_NONE)
		return 0;
	struct sx_l7_args a = {};
	a.sk = p->sk;
	a.ino = p->ino;
	a.buf = t->buf;
	a.ts_ns = t->ts_ns;
	a.kind = SX_ARGS_BUF;
	a.direction = t->direction;
	a.syscall = t->direction == SX_L7_EGRESS ? SX_SYS_SSL_WRITE : SX_SYS_SSL_READ;
	a.tls = t->tls ? t->tls : SX_TLS_OPENSSL;
	sx_l7_emit(&a, a.buf, 0, SX_ARGS_BUF, len > 0xffffffffULL ? 0xffffffff : (__u32)len, bpf_get_current_pid_tgid(), NULL, NULL, NULL);
	return 0;
}
