// SPDX-License-Identifier: GPL-2.0
/* Adoption of HTTP/2 connections joined mid-stream (included by sextant_l7.bpf.h, called from sx_l7_emit). */
#pragma once

/* HTTP/2 joined mid-stream (issue 17): a TCP socket the connection tracking never saw start (no sx_socks entry: it
 * was connected or accepted before the probes were loaded) whose first bytes seen are whole HTTP/2 frames. It is
 * adopted: tracked from now on, like a connection seen from its start, so that its close is reported (with its
 * class); its direction from the listener table (seeded at start with older listeners), its process the one doing
 * this I/O. A global function (verified once, not per caller): the chunk is in the per-CPU scratch record. */
__noinline int sx_l7_h2_midstream(__u64 skey, __u32 captured, __u32 len)
{
	__u64 key = skey;
	if (bpf_map_lookup_elem(&sx_socks, &key))
		return 0; /* seen from its start: these are not its first bytes only because of a state lost */
	__u32 zero = 0;
	struct sx_l7_record *r = bpf_map_lookup_elem(&sx_l7_scratch, &zero);
	if (!r || captured > SX_L7_MAX_CAPTURE || !sx_is_http2_frames(r->data, captured, len))
		return 0;
	struct sock *sk = bpf_rdonly_cast((void *)skey, bpf_core_type_id_kernel(struct sock));
	__u32 lkey = ((__u32)sk->__sk_common.skc_family << 16) | sk->__sk_common.skc_num;
	__u64 now = bpf_ktime_get_ns();
	struct sx_sock_state st = {};
	st.start_ns = now; /* first seen */
	st.last_report_ns = now;
	st.direction = bpf_map_lookup_elem(&sx_listeners, &lkey) ? SX_DIR_SERVER : SX_DIR_CLIENT;
	st.established = 1;
	st.l7 = SX_SOCK_L7; /* its L7 state was made just before (sx_l7_emit) */
	st.tcp_flags = SX_TCP_ACK;
	st.pid = bpf_get_current_pid_tgid() >> 32;
	st.cgroup_id = bpf_get_current_cgroup_id();
	sx_process_comm(st.comm);
	if (bpf_map_update_elem(&sx_socks, &key, &st, BPF_NOEXIST))
		sx_count(SX_COUNTER_SOCK_MAP_FULL);
	return 1;
}
