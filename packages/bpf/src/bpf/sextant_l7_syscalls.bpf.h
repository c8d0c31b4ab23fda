// SPDX-License-Identifier: GPL-2.0
/* The syscall tracepoints of L7 capture (included at the end of sextant_l7.bpf.h): each send/receive call's
 * enter records its arguments, its exit emits what moved (sx_l7_enter / sx_l7_exit, defined here). Loaded only
 * where the socket tracepoints are not (sextant_l7_sock.bpf.h; probes.ts): a syscall tracepoint puts every syscall
 * of every process on the kernel's slow path. */
#pragma once

/* The socket behind fd, by direct (BTF) loads from the current task instead of a bpf_probe_read_kernel call per
 * pointer hop: this runs on the enter of every send/receive syscall of every process (with ~14 helper calls it was
 * about half of the L7 programs' kernel time per keep-alive request). Two reads stay helper calls: the fd array
 * slot (in sx_fd_file) and the sock pointer itself, so that the caller gets it as a plain number (map keys,
 * arithmetic). What remains costs mostly in the cache lines it touches, not in helper calls
 * (docs/l7-line-rate.md, cost per keep-alive request). */
static __always_inline struct sock *sx_fd_sock(int fd, __u64 *ino, __u64 *skey)
{
	struct file *f = sx_fd_file(bpf_get_current_task_btf(), fd);
	if (!f)
		return NULL;
	struct inode *inode = f->f_inode;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	*ino = inode->i_ino;
	struct socket *sock = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
	if (!sock)
		return NULL;
	__u64 k = sx_kernel_word(&sock->sk);
	if (!k)
		return NULL;
	*skey = k;
	return sock->sk;
}

static __always_inline int sx_l7_enter(int fd, __u64 buf, __u32 iovcnt, __u8 kind, __u8 direction, __u8 syscall)
{
	if (l7_mode == SX_L7_MODE_HOOKS)
		return 0;
	if (sx_is_self())
		return 0;
	__u64 ino = 0;
	__u64 skey = 0;
	struct sock *sk = sx_fd_sock(fd, &ino, &skey);
	if (!sk)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	__u16 proto = sk->sk_protocol;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	__u8 known = sx_l7_known(sx_l7_state(skey, sk->__sk_common.skc_cookie.counter), ino);
	if (known == SX_PROTO_UNKNOWN && proto == IPPROTO_TCP && sx_l7_none_state(skey))
		known = SX_PROTO_NONE;
	if (proto == IPPROTO_TCP)
		sx_tls_on_syscall(skey, ino, direction, sx_l7_may_be_tls(known));
	if (sx_l7_skipped(known))
		return 0;
	struct sx_l7_args *a = bpf_task_storage_get(&sx_l7_args_map, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a) {
		sx_count(SX_COUNTER_L7_ARGS_MAP_FULL);
		return 0;
	}
	sx_l7_args_fill(a, skey, ino, buf, iovcnt, kind, direction, syscall, direction == SX_L7_EGRESS ? bpf_ktime_get_ns() : 0);
	return 0;
}

static __always_inline int sx_l7_exit(long ret)
{
	if (l7_mode == SX_L7_MODE_HOOKS)
		return 0;
	struct sx_l7_args *ap = bpf_task_storage_get(&sx_l7_args_map, bpf_get_current_task_btf(), 0, 0);
	if (!ap || !ap->sk)
		return 0;
	struct sx_l7_args a = *ap;
	ap->sk = 0; /* consumed: a later syscall on another fd must not see these arguments */
	if (ret <= 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (a.kind != SX_ARGS_MMSG) {
		sx_l7_emit(&a, a.buf, a.iovcnt, a.kind, (__u32)ret, id, NULL, NULL, NULL);
		return 0;
	}
	/* sendmmsg/recvmmsg: ret messages, each with its own iovecs and byte count (msg_len). */
	struct mmsghdr *vec = (struct mmsghdr *)a.buf;
	for (int i = 0; i < SX_L7_MAX_MMSG; i++) {
		if (i >= ret)
			break;
		struct mmsghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), &vec[i]))
			break;
		if (m.msg_len)
			sx_l7_emit(&a, (__u64)m.msg_hdr.msg_iov, (__u32)m.msg_hdr.msg_iovlen, SX_ARGS_IOV, m.msg_len, id, NULL, NULL, NULL);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sx_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], 0, SX_ARGS_BUF, SX_L7_EGRESS, SX_SYS_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sx_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], 0, SX_ARGS_BUF, SX_L7_INGRESS, SX_SYS_READ);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int sx_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], (__u32)ctx->args[2], SX_ARGS_IOV, SX_L7_EGRESS, SX_SYS_WRITEV);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int sx_enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], (__u32)ctx->args[2], SX_ARGS_IOV, SX_L7_INGRESS, SX_SYS_READV);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sx_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], 0, SX_ARGS_BUF, SX_L7_EGRESS, SX_SYS_SENDTO);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sx_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], 0, SX_ARGS_BUF, SX_L7_INGRESS, SX_SYS_RECVFROM);
}

static __always_inline int sx_enter_msg(struct trace_event_raw_sys_enter *ctx, __u8 direction, __u8 syscall)
{
	struct user_msghdr msg = {};
	if (bpf_probe_read_user(&msg, sizeof(msg), (void *)ctx->args[1]))
		return 0;
	return sx_l7_enter((int)ctx->args[0], (__u64)msg.msg_iov, (__u32)msg.msg_iovlen, SX_ARGS_IOV, direction, syscall);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sx_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sx_enter_msg(ctx, SX_L7_EGRESS, SX_SYS_SENDMSG);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int sx_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sx_enter_msg(ctx, SX_L7_INGRESS, SX_SYS_RECVMSG);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int sx_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], (__u32)ctx->args[2], SX_ARGS_MMSG, SX_L7_EGRESS, SX_SYS_SENDMMSG);
}

SEC("tracepoint/syscalls/sys_enter_recvmmsg")
int sx_enter_recvmmsg(struct trace_event_raw_sys_enter *ctx)
{
	return sx_l7_enter((int)ctx->args[0], ctx->args[1], (__u32)ctx->args[2], SX_ARGS_MMSG, SX_L7_INGRESS, SX_SYS_RECVMMSG);
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int sx_exit_sendmmsg(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int sx_exit_recvmmsg(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_write")
int sx_exit_write(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_read")
int sx_exit_read(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_writev")
int sx_exit_writev(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_readv")
int sx_exit_readv(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendto")
int sx_exit_sendto(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int sx_exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendmsg")
int sx_exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int sx_exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return sx_l7_exit(ctx->ret); }
