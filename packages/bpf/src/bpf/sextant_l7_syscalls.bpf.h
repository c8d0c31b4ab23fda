// SPDX-License-Identifier: GPL-2.0
/* The syscall tracepoints of L7 capture (included at the end of sextant_l7.bpf.h): each send/receive call's
 * enter records its arguments, its exit emits what moved (sx_l7_enter / sx_l7_exit). Loaded only where the socket
 * tracepoints are not (sextant_l7_sock.bpf.h; probes.ts), except sendmmsg / recvmmsg, always hooked here. */
#pragma once

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
