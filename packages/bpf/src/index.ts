export { preflight, type Preflight } from './preflight';
export { BpfError } from './native';
export {
  SextantProbes,
  type DropRecord,
  type HistogramRecord,
  type L7AggregateRecord,
  type L7Config,
  type L7Mode,
  DEFAULT_L7_CONFIG,
  monotonicNsFromEpochMs,
  withAggregateHistograms,
  type ListenerRecord,
  type ProbeCounters,
  type ProbeOptions,
  type SlowEdgeThreshold,
  L7Record,
  type TcpConnEvent,
  type UdpFlowRecord,
} from './probes';
export { formatIp } from './addresses';
export { TlsProbes, tlsSourceOf, type TlsAttachment, type TlsSource } from './tls-probes';
export { ElfFile } from './elf-symbols';
export { planTlsSites, type TlsSitePlan } from './probe-sites';
export { dropReasonName, parseDropReasons } from './drop-reasons';
export * from './generated/events';
