// SPDX-License-Identifier: GPL-2.0
/* The interim-report sweep over the TCP socket map (included by sextant.bpf.c, after its TCP programs: it uses
 * sx_socks, sx_events, sx_fill_from_state and SX_FILL_TCP_SOCKET). */
#pragma once

/* Interim reports of long-lived connections: the collector runs this program every few seconds
 * (BPF_PROG_TEST_RUN); it walks the socket map and reports each established connection whose last report
 * is older than update_interval_ns and which moved bytes since. Nothing runs per packet or per syscall. */
struct sx_sweep_ctx {
	__u64 now;
	__u32 reported;
	__u32 lost;
};

static long sx_sweep_one(void *map, __u64 *key, struct sx_sock_state *st, struct sx_sweep_ctx *c)
{
	/* A connection made while the walk runs has its first report time (its start) after the walk's clock: without the
	 * first test the difference wraps and it was reported at once, a second record of a connection microseconds old. */
	if (!st->established || c->now < st->last_report_ns || c->now - st->last_report_ns < update_interval_ns)
		return 0;
	struct tcp_sock *tp = (struct tcp_sock *)*key;
	__u64 moved = BPF_CORE_READ(tp, bytes_acked) + BPF_CORE_READ(tp, bytes_received);
	if (moved == st->last_report_bytes)
		return 0; /* idle since its last report */
	struct sx_tcp_event *e = bpf_ringbuf_reserve(&sx_events, sizeof(*e), 0);
	if (!e) {
		sx_count(SX_COUNTER_RINGBUF_FULL);
		c->lost++;
		return 0;
	}
	st->last_report_ns = c->now;
	st->last_report_bytes = moved;
	__builtin_memset(e, 0, sizeof(*e));
	sx_fill_from_state(e, st, *key, c->now);
	SX_FILL_TCP_SOCKET(e, tp, BPF_CORE_READ);
	e->kind = SX_EVENT_TCP_UPDATE;
	e->final = 0;
	e->close_reason = SX_CLOSE_OPEN;
	bpf_ringbuf_submit(e, 0);
	sx_count(SX_COUNTER_EVENTS);
	c->reported++;
	return 0;
}

SEC("syscall")
int sx_sweep_connections(void *ctx)
{
	struct sx_sweep_ctx c = { .now = bpf_ktime_get_ns() };
	bpf_for_each_map_elem(&sx_socks, sx_sweep_one, &c, 0);
	return c.reported;
}
