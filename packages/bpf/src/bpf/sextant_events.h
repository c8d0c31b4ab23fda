/* Sextant kernel → user records: the ONLY definition of each struct shared by the BPF programs and the
 * collector. Fixed-width fields, ordered for natural alignment, sizes asserted. The TypeScript decoder
 * (src/generated/events.ts) is generated from this file by scripts/gen-decoder.mjs; keep one field per line
 * in the form "<type> <name>[<n>];" so the generator can read it. */
#ifndef SEXTANT_EVENTS_H
#define SEXTANT_EVENTS_H

#define SX_EVENT_TCP_CLOSE 1
#define SX_EVENT_TCP_UPDATE 2

#define SX_DIR_UNKNOWN 0
#define SX_DIR_CLIENT 1
#define SX_DIR_SERVER 2

#define SX_CLOSE_NONE 0
#define SX_CLOSE_OPEN 1
#define SX_CLOSE_CLOSED 2
#define SX_CLOSE_RESET 3
#define SX_CLOSE_REFUSED 4
#define SX_CLOSE_TIMEOUT 5

/* TCP flags seen, in the order of the shared model's TCP_FLAGS. */
#define SX_TCP_SYN (1 << 0)
#define SX_TCP_ACK (1 << 1)
#define SX_TCP_FIN (1 << 2)
#define SX_TCP_RST (1 << 3)

#define SX_HIST_TCP_CONNECT 1
#define SX_HIST_TCP_SRTT 2
/* Request sent → first response bytes, measured in the kernel on the client's socket (not pipelined). */
#define SX_HIST_HTTP 3
#define SX_HIST_DNS 4
#define SX_HIST_KAFKA 5

#define SX_COUNTER_RINGBUF_FULL 0
#define SX_COUNTER_SOCK_MAP_FULL 1
#define SX_COUNTER_UDP_MAP_FULL 2
#define SX_COUNTER_HIST_MAP_FULL 3
#define SX_COUNTER_DROP_MAP_FULL 4
#define SX_COUNTER_EVENTS 5
#define SX_COUNTER_RETRANSMITS 6
#define SX_COUNTER_L7_RINGBUF_FULL 7
#define SX_COUNTER_L7_EVENTS 8
#define SX_COUNTER_L7_SOCK_MAP_FULL 9
#define SX_COUNTER_L7_ARGS_MAP_FULL 10
/* L7 signals mode: a request that could not be stashed, an exchange the aggregate map had no room for (both
 * switch the socket to FULL), exchanges aggregated, the kept ones by reason, and sockets switched to FULL. */
#define SX_COUNTER_L7_STASH_FULL 11
#define SX_COUNTER_L7_AGG_MAP_FULL 12
#define SX_COUNTER_L7_AGGREGATED 13
#define SX_COUNTER_L7_KEPT_ERROR 14
#define SX_COUNTER_L7_KEPT_SLOW 15
#define SX_COUNTER_L7_KEPT_CAPTURE 16
#define SX_COUNTER_L7_KEPT_SAMPLED 17
#define SX_COUNTER_L7_FULL_SWITCHES 18
/* TLS plaintext (uprobes) whose SSL object was not paired with a socket yet: not emitted. */
#define SX_COUNTER_TLS_UNPAIRED 19
/* Messages of recvmmsg calls with a timeout, not captured on the socket tracepoints (sextant_l7_sock.bpf.h, sx_l7_mmsg). */
#define SX_COUNTER_L7_MMSG_TIMEOUT 20
#define SX_COUNTER_MAX 21

/* L7 capture: protocols inferred in the kernel from a connection's first bytes. */
#define SX_PROTO_UNKNOWN 0
#define SX_PROTO_HTTP 1
#define SX_PROTO_DNS 2
#define SX_PROTO_KAFKA 3
/* A client's HTTP/2 connection preface ("PRI * HTTP/2.0..."): always on the full path (parsed in user space). */
#define SX_PROTO_HTTP2 4
/* The first bytes on the syscall path were a TLS handshake record: the socket's syscalls are skipped from then on
 * (ciphertext) and one header-only record (captured_len 0) says so; its plaintext (uprobes) classifies apart. */
#define SX_PROTO_TLS 5
/* HTTP/2 joined mid-stream: the first bytes seen on a connection older than the probes were HTTP/2 frames (its preface
 * came before them, so its header blocks cannot be decoded): the connection is tracked from then on (its close is
 * reported, with this as l7_proto) and its syscalls are skipped like TLS. */
#define SX_PROTO_HTTP2_MIDSTREAM 6
#define SX_PROTO_NONE 15

/* sx_l7_header.tls: where the bytes came from: a syscall (cleartext on the wire), or TLS plaintext from the uprobes
 * on libssl.so.3 or on the node binary (its static OpenSSL). */
#define SX_TLS_NONE 0
#define SX_TLS_OPENSSL 1
#define SX_TLS_NODE 2

#define SX_L7_EGRESS 1
#define SX_L7_INGRESS 2

/* L7 mode (kernel global l7_mode): every exchange a record; HTTP/1.x aggregated in the kernel, records kept
 * where they matter (docs/l7-line-rate.md); the tracepoints attached but returning at once (benchmarks). */
#define SX_L7_MODE_FULL 0
#define SX_L7_MODE_SIGNALS 1
#define SX_L7_MODE_HOOKS 2

/* sx_l7_header.kept: 0 = full path (the record is the only count of its exchange); otherwise the exchange is
 * counted by the kernel aggregates and this record was kept for that reason. */
#define SX_KEPT_NONE 0
#define SX_KEPT_ERROR 1
#define SX_KEPT_SLOW 2
#define SX_KEPT_CAPTURE 3
#define SX_KEPT_SAMPLED 4

/* HTTP/1.x request methods the kernel aggregates by (any other method puts the socket on the full path). */
#define SX_HTTP_METHOD_UNKNOWN 0
#define SX_HTTP_METHOD_GET 1
#define SX_HTTP_METHOD_POST 2
#define SX_HTTP_METHOD_PUT 3
#define SX_HTTP_METHOD_DELETE 4
#define SX_HTTP_METHOD_HEAD 5
#define SX_HTTP_METHOD_PATCH 6
#define SX_HTTP_METHOD_OPTIONS 7

/* Upper bound of the bytes captured per syscall (the load-time knob capture_bytes is at most this). */
#define SX_L7_MAX_CAPTURE 4096

/* One TCP connection as seen by one socket: emitted at close (final) and periodically while open. Final events
 * only: l7_proto is the socket's L7 classification (SX_PROTO_*; 0 = no payload classified), l7_tls the SX_TLS_*
 * source when its plaintext came through the TLS uprobes (0 otherwise): its L7 decode coverage; l7_records 1 when
 * L7 records of this socket may still be read after this close (the collector remembers the close for them only). */
struct sx_tcp_event {
	__u64 sock_id;
	__u64 start_ns;
	__u64 end_ns;
	__u64 connect_ns;
	__u64 cgroup_id;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 pid;
	__u32 segs_out;
	__u32 segs_in;
	__u32 total_retrans;
	__u32 srtt_us;
	__u32 retransmits;
	__u16 sport;
	__u16 dport;
	__u16 tcp_flags;
	__u8 l7_tls;
	__u8 l7_records;
	__u8 kind;
	__u8 family;
	__u8 direction;
	__u8 close_reason;
	__u8 rst_sent;
	__u8 rst_recv;
	__u8 final;
	__u8 l7_proto;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[16];
};
_Static_assert(sizeof(struct sx_tcp_event) == 144, "sx_tcp_event size");

/* Map sx_listeners, key (address family << 16 | port), AF_INET 2 or AF_INET6 10: the process that listens on a
 * port. Written by the kernel at listen() and by the collector at start for listeners older than it. */
struct sx_listener {
	__u32 pid;
	__u32 pad;
	char comm[16];
};
_Static_assert(sizeof(struct sx_listener) == 24, "sx_listener size");

/* UDP flow aggregate key: one local socket address talking to one remote address. */
struct sx_udp_key {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u8 family;
	__u8 pad0;
	__u16 pad1;
};
_Static_assert(sizeof(struct sx_udp_key) == 40, "sx_udp_key size");

struct sx_udp_value {
	__u64 bytes_out;
	__u64 packets_out;
	__u64 bytes_in;
	__u64 packets_in;
	__u64 first_ns;
	__u64 last_ns;
	__u64 cgroup_id;
	__u64 cookie;
	__u32 pid;
	__u32 pad0;
	char comm[16];
};
_Static_assert(sizeof(struct sx_udp_value) == 88, "sx_udp_value size");

/* Dropped packets aggregated by kernel drop reason and 5-tuple. */
struct sx_drop_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 reason;
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 protocol;
	__u16 pad0;
};
_Static_assert(sizeof(struct sx_drop_key) == 44, "sx_drop_key size");

struct sx_drop_value {
	__u64 count;
	__u64 first_ns;
	__u64 last_ns;
	__u64 cgroup_id;
};
_Static_assert(sizeof(struct sx_drop_value) == 32, "sx_drop_value size");

/* Latency histogram key: per (cgroup, remote endpoint, kind); the value is SX_HIST_BUCKETS counters. */
struct sx_hist_key {
	__u64 cgroup_id;
	__u8 raddr[16];
	__u16 rport;
	__u8 family;
	__u8 kind;
	__u32 pad0;
};
_Static_assert(sizeof(struct sx_hist_key) == 32, "sx_hist_key size");

/* One send/receive syscall on a socket: this header, then captured_len bytes of its data. sock_id is the
 * kernel socket (as in sx_tcp_event); sock_ino tells a reused socket address from the earlier socket. xseq (signals
 * mode, aggregated sockets): the exchange's number on its socket, from 1, the same on its request's and its
 * response's records, so that halves can be paired by it after ring loss; 0 on full-path records. */
struct sx_l7_header {
	__u64 sock_id;
	__u64 sock_ino;
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 total_len;
	__u32 captured_len;
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 transport;
	__u8 direction;
	__u8 protocol;
	__u8 syscall;
	__u8 role;
	__u8 kept;
	__u8 tls;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[16];
	__u32 xseq;
	__u32 pad2;
};
_Static_assert(sizeof(struct sx_l7_header) == 112, "sx_l7_header size");

/* HTTP exchanges aggregated in the kernel (maps sx_l7_agg0 / sx_l7_agg1, the one of sx_l7_config.gen & 1):
 * per process, endpoints, role, method, status and TLS source (SX_TLS_*: plaintext read by the libssl or node
 * uprobes, 0 for cleartext). Client role: lport 0 (ephemeral), rport the server's port; server role: rport 0,
 * lport the listening port. Addresses as in sx_l7_header. */
/* Aggregate slots per generation in front of its hash map (sx_l7_aggs0/1: sextant_l7_agg.bpf.h); each slot is a u64
 * state (0 free, 1 being claimed, 2 taken), then an sx_l7_agg_key, then an sx_l7_agg_value. */
#define SX_L7_AGG_SLOTS 1024

struct sx_l7_agg_key {
	__u64 cgroup_id;
	__u32 pid;
	__u16 lport;
	__u16 rport;
	__u16 status;
	__u8 method;
	__u8 role;
	__u8 family;
	__u8 protocol;
	__u8 tls;
	__u8 pad0;
	__u8 laddr[16];
	__u8 raddr[16];
};
_Static_assert(sizeof(struct sx_l7_agg_key) == 56, "sx_l7_agg_key size");

/* Latency = first response bytes - request (both as sx_l7_header.ts_ns); hist in the shared bucket scheme
 * (SX_HIST_BUCKETS = 336 buckets, sextant_hist.h). request_bytes / response_bytes: the bytes the exchanges' request
 * and response chunks moved (sx_l7_header.total_len summed, as the full path's records count them); a response's
 * chunks after its first are added when its socket's next exchange starts or the socket closes, so a window may hold
 * bytes of exchanges counted in the one before (a key with count 0 and bytes only). */
struct sx_l7_agg_value {
	__u64 count;
	__u64 latency_sum_ns;
	__u64 first_ns;
	__u64 last_ns;
	__u64 request_bytes;
	__u64 response_bytes;
	char comm[16];
	__u64 hist[336];
};
_Static_assert(sizeof(struct sx_l7_agg_value) == 2752, "sx_l7_agg_value size");

/* Map sx_l7_config (array, one entry), written by the collector: which aggregate map programs write (gen & 1),
 * the slow threshold (0 = none), on-demand capture until (bpf_ktime_get_ns, CLOCK_MONOTONIC; 0 = none),
 * the sampled successes each CPU may keep per one-second window, how many edges have their own slow threshold
 * in sx_l7_slow (0: the map is not looked up), and the generation of the thresholds (slow_gen: changed, never to 0,
 * whenever they may have; a socket's stash keeps its edge's threshold until then). */
struct sx_l7_config {
	__u64 gen;
	__u64 slow_ns;
	__u64 record_all_until_ns;
	__u32 budget_per_cpu;
	__u32 slow_edges;
	__u32 slow_gen;
	__u32 pad;
};
_Static_assert(sizeof(struct sx_l7_config) == 40, "sx_l7_config size");

/* Map sx_l7_slow's key: an edge as the kernel sees it (sextant_l7_slow.bpf.h). Server role: the local port (addr
 * zero); client role: the remote address and port. Family and role as in sx_l7_agg_key; the value is the edge's
 * slow threshold in ns, set by the collector from the edge's own latency. */
struct sx_l7_slow_key {
	__u8 role;
	__u8 family;
	__u16 port;
	__u32 pad0;
	__u8 addr[16];
};
_Static_assert(sizeof(struct sx_l7_slow_key) == 24, "sx_l7_slow_key size");

#endif
