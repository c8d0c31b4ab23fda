/* The shared latency bucket scheme (twin of packages/shared/src/histogram.ts): log-linear over nanoseconds,
 * exact below 16 ns, then 8 sub-buckets per power of two, 336 buckets; values >= 2^44 ns share the last.
 * Plain C with no loops, usable in BPF programs and in the native equivalence test. */
#ifndef SEXTANT_HIST_H
#define SEXTANT_HIST_H

#define SX_HIST_SUB_BITS 3
#define SX_HIST_SUB_BUCKETS 8
#define SX_HIST_MAX_MSB 43
#define SX_HIST_BUCKETS 336

static inline unsigned int sx_msb64(unsigned long long v)
{
	unsigned int r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static inline unsigned int sextant_hist_bucket(unsigned long long ns)
{
	unsigned int m;
	if (ns < SX_HIST_SUB_BUCKETS * 2)
		return (unsigned int)ns;
	m = sx_msb64(ns);
	if (m > SX_HIST_MAX_MSB)
		return SX_HIST_BUCKETS - 1;
	return (m - SX_HIST_SUB_BITS + 1) * SX_HIST_SUB_BUCKETS +
	       (unsigned int)((ns >> (m - SX_HIST_SUB_BITS)) & (SX_HIST_SUB_BUCKETS - 1));
}

#endif
