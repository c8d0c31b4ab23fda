// SPDX-License-Identifier: GPL-2.0
/* L7 capture from the socket tracepoints (included at the end of sextant_l7.bpf.h; called by the programs on
 * tp_btf/sock_send_length and sock_recv_length in sextant_udp.bpf.h). Those fire inside sock_sendmsg / sock_recvmsg,
 * after the data moved, with the socket and the byte count: one program per call on a socket instead of an enter
 * and an exit on every send/receive syscall of every process, and no fd → file → socket walk of cold cache lines,
 * no per-thread argument store. The user buffer comes from the syscall's own registers (the task's pt_regs:
 * orig_ax is the syscall number, di/si/dx its first arguments), so only the syscalls whose arguments are known are
 * captured: read, write, readv, writev, sendto, recvfrom, sendmsg, recvmsg, and sendmmsg / recvmmsg (sx_l7_mmsg,
 * below); io_uring, splice, sendfile are not captured (as before). No syscall tracepoint is attached then: one, even
 * of a syscall nobody makes, puts every syscall of every process on the kernel's slow syscall path.
 *
 * The socket sent on must be the one behind the syscall's fd (its first argument): a kernel socket used inside
 * another syscall (NFS or a network block device under a write() of a file, a socket BIO inside a splice) is never
 * captured with that syscall's user buffer. The fd table and the file were just used by the syscall (fdget), so
 * this check touches warm cache lines.
 *
 * Writes are timed when they went out (sx_tcp_write_ns) or at their completion (the tracepoint) instead of their
 * issue: for a write that does not block (the socket buffer has room) the two differ by the send's own cost.
 * x86_64 only (the register layout and the syscall numbers); other architectures and kernels without these
 * tracepoints (before 6.3) use the syscall tracepoints (l7_sock_hooks = 0, chosen by probe-options.ts). */
#pragma once

/* 1: L7 capture from the socket tracepoints, the syscall tracepoints not loaded;
 * 0: from the syscall tracepoints (the fallback). */
const volatile __u8 l7_sock_hooks = 1;

#define SX_PF_IO_WORKER 0x00000010
#define SX_PF_KTHREAD 0x00200000

#if defined(__TARGET_ARCH_x86)
/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl). An ia32 task's numbers differ; those that
 * collide (19 lseek, 20 getpid, 44-47) never send on a socket, and the fd check below holds in any case. */
#define SX_NR_READ 0
#define SX_NR_WRITE 1
#define SX_NR_READV 19
#define SX_NR_WRITEV 20
#define SX_NR_SENDTO 44
#define SX_NR_RECVFROM 45
#define SX_NR_SENDMSG 46
#define SX_NR_RECVMSG 47
#define SX_NR_RECVMMSG 299
#define SX_NR_SENDMMSG 307
#define SX_UIO_MAXIOV 1024 /* the kernel's cap on a sendmmsg / recvmmsg vlen */

/* sendmmsg / recvmmsg: the socket tracepoint fires once per message the call moves, in order, and nothing says which
 * message it is. Each thread counts them here (created by its first such call): a run for the same socket, vector and
 * length as the last one continues that call, unless the last call is known to have ended — all vlen messages seen,
 * or a failed message (ret < 0: the kernel stops at the first, and a non-blocking recvmmsg ends on one: EAGAIN), or a
 * stream's message sent in part (the kernel stops there too: sx_l7_mmsg_partial). What the kernel ends without the
 * tracepoint (a message whose header cannot be read or whose send an LSM denies before it reaches the socket, a
 * recvmmsg's out-of-band data) leaves the count where it was, and the thread's next call on the same socket and
 * vector starts mid-count. A recvmmsg with a timeout can also end between two messages unseen (when the time is up)
 * and is not captured (its messages counted: SX_COUNTER_L7_MMSG_TIMEOUT). */
struct sx_l7_mmsg {
	__u64 sk;   /* the call being counted: its socket (0: none), vector and length */
	__u64 vec;
	__u32 vlen;
	__u32 next; /* the index of its next message */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sx_l7_mmsg);
} sx_l7_mmsgs SEC(".maps");

/* The index of the message this run of a sendmmsg / recvmmsg is for, or -1 (not captured: a failed message, a
 * recvmmsg with a timeout, no storage). */
static __always_inline int sx_l7_mmsg_index(struct task_struct *task, struct pt_regs *regs, __u64 sk, int ret, __u8 direction,
					    struct sx_l7_mmsg **state)
{
	if (direction == SX_L7_INGRESS && regs->r8) {
		if (ret > 0)
			sx_count(SX_COUNTER_L7_MMSG_TIMEOUT);
		return -1;
	}
	struct sx_l7_mmsg *m = bpf_task_storage_get(&sx_l7_mmsgs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!m) {
		sx_count(SX_COUNTER_L7_ARGS_MAP_FULL);
		return -1;
	}
	__u64 vec = regs->si;
	__u32 vlen = (__u32)regs->dx;
	if (vlen > SX_UIO_MAXIOV)
		vlen = SX_UIO_MAXIOV;
	if (m->sk != sk || m->vec != vec || m->vlen != vlen || m->next >= vlen) {
		m->sk = sk;
		m->vec = vec;
		m->vlen = vlen;
		m->next = 0;
	}
	__u32 i = m->next;
	if (ret < 0) {
		m->sk = 0; /* the call ends at its first failed message */
		return -1;
	}
	m->next = i + 1;
	*state = m;
	return (int)i;
}

/* A stream's sendmmsg message sent in part ends the call (the kernel's msg_data_left check): its iovecs (the first 8;
 * beyond them the message is taken as sent whole) add up to more than ret. */
static __always_inline void sx_l7_mmsg_partial(struct sx_l7_mmsg *m, __u64 iov, __u32 iovcnt, int ret)
{
	__u64 total = 0;
	for (int i = 0; i < 8; i++) {
		if (i >= iovcnt)
			break;
		struct iovec v = {};
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(struct iovec))))
			return;
		total += v.iov_len;
	}
	if (iovcnt <= 8 && total > (__u64)ret)
		m->sk = 0;
}

/* A socket whose calls are skipped (sx_l7_skipped: NONE, TLS ciphertext, HTTP/2 joined mid-stream) says so in its own
 * storage, which lives as long as the struct sock (and is deleted with its sx_l7_socks state at TCP close), with what
 * the TLS pairing needs: its calls stop at one look-up through the socket, before the socket's file and inode and the
 * hash look-up of its state. Made from that state by the call that finds it skipped after SX_L7_SKIP_CALLS calls did
 * (counted in the state: ls->skipped, or SX_SOCK_L7_SKIPS of a given-up server's connection-level state). A connection
 * that makes only a few calls once its class is known (a new connection per request: nginx's response and its read of
 * the client's close) so never allocates the storage, nor deletes it at close, nor writes and clears a hint; a
 * long-lived one pays the two look-ups the flag saves SX_L7_SKIP_CALLS times. (Made by the second call, it cost every
 * nginx connection on `close` an allocation, and every L7 socket's close a delete and a line of the hints.) */
#define SX_L7_SKIP_CALLS 3
_Static_assert(SX_L7_SKIP_CALLS * SX_SOCK_L7_SKIPPED == SX_SOCK_L7_SKIPS, "the count fits the connection-level bits");
struct sx_l7_skip {
	__u64 sk;
	__u64 ino;
	__u8 protocol;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sx_l7_skip);
} sx_l7_skips SEC(".maps");

/* In front of that flag: the socket's cookie (unique for the life of a struct sock, never reused) in a direct-mapped
 * array indexed by it. The flag is three dependent cold lines away (the socket's storage pointer, its storage, the
 * element: ~85 ns per call on the server end of a loopback keep-alive connection, perf); the cookie sits in the socket's
 * second line and the hint in a line of a small array. A call from a thread with no task storage (no TLS pairing state
 * to tell) on a socket its hint names stops there, as it would at the flag. Written when the flag is made (the socket's
 * cookie generated then) for a socket that is not TLS ciphertext (a read of one gives the thread pairing state, so its
 * calls take the flag), cleared with the flag at TCP close (a disconnected socket may connect again); a slot another
 * socket's flag took only sends this one to its flag. */
#define SX_L7_SKIP_HINT_BITS 14

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << SX_L7_SKIP_HINT_BITS);
	__type(key, __u32);
	__type(value, __u64);
} sx_l7_skip_hints SEC(".maps");

static __always_inline __u64 *sx_l7_skip_hint_slot(__u64 cookie)
{
	__u32 i = (__u32)cookie & ((1 << SX_L7_SKIP_HINT_BITS) - 1);
	return bpf_map_lookup_elem(&sx_l7_skip_hints, &i);
}

/* Whether the socket's hint says it has its skip flag (a cookie of 0: never generated, no hint). */
static __always_inline int sx_l7_skip_hinted(__u64 cookie)
{
	__u64 *h = cookie ? sx_l7_skip_hint_slot(cookie) : NULL;
	return h && *h == cookie;
}

/* The socket's hint, its cookie generated if it had none (its flag is being made). */
static __always_inline void sx_l7_skip_hint_set(struct sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u64 *h = sx_l7_skip_hint_slot(cookie);
	if (h)
		*h = cookie;
}

static __always_inline void sx_l7_skip_hint_clear(struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;
	__u64 *h = cookie ? sx_l7_skip_hint_slot(cookie) : NULL;
	if (h && *h == cookie)
		*h = 0;
}

/* Whether a read of a socket not classified yet may give its thread TLS pairing state (sx_tls_on_syscall): its first
 * byte starts a TLS handshake record, as a TLS socket's first bytes do (sx_is_tls_record; nginx peeks at that one
 * byte). Before, every such read did, so nearly every server thread (it reads each new connection's first bytes) had
 * one, and a task-storage look-up and two stores on every later read and write. recvmsg / recvmmsg (the bytes are
 * behind the message header, read later) still do. */
static __always_inline int sx_l7_may_start_tls(__u64 buf, __u32 iovcnt, __u8 kind, __u8 syscall)
{
	if (kind == SX_ARGS_MMSG || syscall == SX_SYS_RECVMSG)
		return 1;
	void *p = (void *)buf;
	if (kind == SX_ARGS_IOV) {
		struct iovec v = {};
		if (!iovcnt || bpf_probe_read_user(&v, sizeof(v), (void *)buf) || !v.iov_len)
			return 1;
		p = v.iov_base;
	}
	__u8 b = 0;
	return !bpf_probe_read_user(&b, 1, p) && b == 0x16;
}

/* Whether the syscall's fd is this socket's file. */
static __always_inline int sx_fd_is(struct task_struct *task, int fd, struct socket *sock)
{
	struct file *f = sx_fd_file(task, fd);
	return f && f->private_data == sock && sock->file == f;
}

/* The time a write on this socket went out (CLOCK_MONOTONIC, as bpf_ktime_get_ns), at the socket tracepoint after it:
 * for a TCP socket that has sent everything written (snd_nxt == write_seq: this write's last bytes were transmitted
 * during the call, by tcp_write_xmit, which refreshed the socket's TCP clock first: tcp_mstamp_refresh), that clock,
 * a load from a line the send just wrote instead of a clock read (~40 ns here: kvm-clock). It lies between the last
 * transmission's start and now, so the write is timed at most the send's own cost before its completion. Otherwise
 * (data still queued: Nagle, a full window, TCP_CORK; not a TCP stream socket: sx_tcp_stream; a kernel without the
 * field) the clock is read. */
static __always_inline __u64 sx_tcp_write_ns(struct sock *sk)
{
	struct tcp_sock *tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	if (sx_tcp_stream(sk) && bpf_core_field_exists(tp->tcp_clock_cache) && tp->snd_nxt == tp->write_seq) {
		__u64 t = tp->tcp_clock_cache;
		if (t)
			return t;
	}
	return bpf_ktime_get_ns();
}

static __always_inline void sx_l7_sock_call(struct sock *sk, int ret, __u8 direction)
{
	if (!l7_enabled || !l7_sock_hooks || l7_mode == SX_L7_MODE_HOOKS)
		return;
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->flags & (SX_PF_KTHREAD | SX_PF_IO_WORKER))
		return;
	/* A socket classified as not ours stops here, before the call is decoded: only the TLS pairing state of a thread
	 * inside, or between, SSL calls (task storage, as a sendmmsg / recvmmsg message count's) would learn of it (below,
	 * from the socket's storage). Its mmsg calls are not counted: every message of a call is this socket's, and
	 * the count starts afresh for another socket's call. */
	/* the socket's cookie, read once: nothing below generates it before sx_l7_emit */
	__u64 cookie = sk->__sk_common.skc_cookie.counter;
	if (!task->bpf_storage && sx_l7_skip_hinted(cookie))
		return;
	if (sx_is_self())
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 nr = regs->orig_ax;
	__u8 kind = SX_ARGS_BUF, syscall;
	if (direction == SX_L7_EGRESS) {
		if (nr == SX_NR_WRITE)
			syscall = SX_SYS_WRITE;
		else if (nr == SX_NR_SENDTO)
			syscall = SX_SYS_SENDTO;
		else if (nr == SX_NR_WRITEV)
			syscall = SX_SYS_WRITEV, kind = SX_ARGS_IOV;
		else if (nr == SX_NR_SENDMSG)
			syscall = SX_SYS_SENDMSG, kind = SX_ARGS_IOV;
		else if (nr == SX_NR_SENDMMSG)
			syscall = SX_SYS_SENDMMSG, kind = SX_ARGS_MMSG;
		else
			return;
	} else {
		if (nr == SX_NR_READ)
			syscall = SX_SYS_READ;
		else if (nr == SX_NR_RECVFROM)
			syscall = SX_SYS_RECVFROM;
		else if (nr == SX_NR_READV)
			syscall = SX_SYS_READV, kind = SX_ARGS_IOV;
		else if (nr == SX_NR_RECVMSG)
			syscall = SX_SYS_RECVMSG, kind = SX_ARGS_IOV;
		else if (nr == SX_NR_RECVMMSG)
			syscall = SX_SYS_RECVMMSG, kind = SX_ARGS_MMSG;
		else
			return;
	}
	/* sendmmsg / recvmmsg: every message counted, whatever its socket's class, so that the count stays in step */
	int mmsg = 0;
	struct sx_l7_mmsg *mstate = NULL;
	if (kind == SX_ARGS_MMSG)
		mmsg = sx_l7_mmsg_index(task, regs, (__u64)sk, ret, direction, &mstate);
	int tcp = sk->sk_protocol == IPPROTO_TCP;
	/* a socket's flag is made with its cookie (below): a socket without one has none, and skips the helper */
	struct sx_l7_skip *skip = cookie ? bpf_sk_storage_get(&sx_l7_skips, sk, 0, 0) : NULL;
	if (skip) {
		if (tcp)
			sx_tls_on_syscall(skip->sk, skip->ino, direction, sx_l7_may_be_tls(skip->protocol));
		return;
	}
	int fd = (int)regs->di;
	__u64 buf = regs->si;
	__u32 iovcnt = kind == SX_ARGS_IOV ? (__u32)regs->dx : 0;

	/* A user socket (a kernel socket has no file), its state looked up by the socket and its file's inode. */
	struct socket *sock = sk->sk_socket;
	if (!sock)
		return;
	struct file *sf = sock->file;
	if (!sf)
		return;
	__u64 ino = sf->f_inode->i_ino;
	__u64 skey = sx_kernel_word(&sock->sk); /* the socket's address as a plain number (map keys, arithmetic) */
	if (!skey)
		return;
	struct sx_l7_sock *ls = sx_l7_state(skey, cookie);
	__u8 known = sx_l7_known(ls, ino);
	/* A TCP socket not classified by a state of its own: its connection-level state, which says whether it was given
	 * up as a loopback client's server without one (sx_l7_emit, nst), and which sx_l7_emit takes from here. */
	struct sx_sock_state *cst = NULL, *nst = NULL;
	if (known == SX_PROTO_UNKNOWN && tcp) {
		cst = bpf_map_lookup_elem(&sx_socks, &skey);
		if (cst && (cst->l7 & SX_SOCK_L7_NONE)) {
			nst = cst;
			known = SX_PROTO_NONE;
		}
	}
	/* A socket classified as not ours stops here, before the fd table is walked (its bytes are not read): only the
	 * TLS pairing state of a thread inside, or between, SSL calls learns of the call. */
	if (sx_l7_skipped(known)) {
		/* The flag from the socket's (SX_L7_SKIP_CALLS + 1)-th such call, the ones before counted (sx_l7_skips) */
		if (nst ? (nst->l7 & SX_SOCK_L7_SKIPS) != SX_SOCK_L7_SKIPS : ls && ls->skipped < SX_L7_SKIP_CALLS) {
			if (nst)
				nst->l7 += SX_SOCK_L7_SKIPPED;
			else if (ls)
				ls->skipped++;
		} else {
			skip = bpf_sk_storage_get(&sx_l7_skips, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (skip) {
				skip->sk = skey;
				skip->ino = ino;
				skip->protocol = known;
				/* its cookie, which the calls above look at before the flag; a hint only where the flag tells a
				 * thread with no pairing state nothing (not TLS ciphertext, whose reads give the thread that state) */
				if (!sx_l7_may_be_tls(known))
					sx_l7_skip_hint_set(sk);
				else
					bpf_get_socket_cookie(sk);
			}
		}
		if (tcp)
			sx_tls_on_syscall(skey, ino, direction, sx_l7_may_be_tls(known));
		return;
	}
	/* The file behind the syscall's fd must be this socket's: a user socket used by the kernel inside another
	 * syscall (its buffer is not the syscall's) is not captured. */
	if (!sx_fd_is(task, fd, sock))
		return;
	if (tcp)
		sx_tls_on_syscall(skey, ino, direction,
				  known == SX_PROTO_UNKNOWN && direction == SX_L7_INGRESS && ret > 0 &&
					  sx_l7_may_start_tls(buf, iovcnt, kind, syscall));
	if (ret <= 0 || mmsg < 0)
		return;
	if (kind == SX_ARGS_MMSG || syscall == SX_SYS_SENDMSG || syscall == SX_SYS_RECVMSG) {
		/* sendmsg / recvmsg: the msghdr's iovecs; sendmmsg / recvmmsg: those of the message counted */
		__u64 hdr = kind == SX_ARGS_MMSG ? buf + (__u64)mmsg * sizeof(struct mmsghdr) : buf;
		struct user_msghdr msg = {};
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)hdr))
			return;
		buf = (__u64)msg.msg_iov;
		iovcnt = (__u32)msg.msg_iovlen;
		if (kind == SX_ARGS_MMSG && mstate && direction == SX_L7_EGRESS && sk->sk_type == SOCK_STREAM)
			sx_l7_mmsg_partial(mstate, buf, iovcnt, ret);
		kind = SX_ARGS_IOV;
	}
	struct sx_l7_args a = {};
	sx_l7_args_fill(&a, skey, ino, buf, iovcnt, kind, direction, syscall,
			direction == SX_L7_EGRESS ? sx_tcp_write_ns(sk) : 0);
	sx_l7_emit(&a, buf, iovcnt, kind, (__u32)ret, bpf_get_current_pid_tgid(), ls, cst, sk);
}
#else
static __always_inline void sx_l7_sock_call(struct sock *sk, int ret, __u8 direction) {}
#endif
