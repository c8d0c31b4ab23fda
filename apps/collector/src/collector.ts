/**
 * The collector: one per host. Loads the probes, turns kernel records into flows and histograms, ships
 * them, reports health, and on stop detaches every program and leaves unsent batches in the spool.
 */
import {
  monotonicNsFromEpochMs,
  preflight,
  SextantProbes,
  withAggregateHistograms,
  type HistogramRecord,
  type L7AggregateRecord,
  type ProbeCounters,
} from '@sextant/bpf';
import { WIRE_SCHEMA_VERSION, type PendingFlowRow } from '@sextant/shared';
import type { CollectorConfig } from './env';
import { Clock, FlowAssembler } from './services/flow-assembler';
import { CaptureControl } from './services/capture-control';
import { COLLECTOR_VERSION, HealthTracker } from './services/health';
import { IdentityResolver } from './services/identity';
import { L7AggregateBuilder } from './services/l7-aggregates';
import { L7Assembler } from './services/l7-assembler';
import { L7CoverageClassifier } from './services/l7-coverage';
import { RecordShedder } from './services/record-shedding';
import { SlowThresholds } from './services/slow-thresholds';
import { ListenerTable } from './services/listeners';
import { localServerPort, SelfMarker } from './services/self-marker';
import { RuleSet } from './services/naming-rules';
import { Shipper } from './services/shipper';
import { Spool } from './services/spool';
import { TlsHooks, tlsHealthDetails } from './services/tls-hooks';
import { trpcTransport, type Transport } from './services/transport';
import os from 'node:os';

export class Collector {
  private probes: SextantProbes | null = null;
  private tlsHooks: TlsHooks | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly shipper: Shipper;
  private readonly spool: Spool;
  private readonly transport: Transport;
  private readonly assembler: FlowAssembler;
  private readonly identity: IdentityResolver;
  private readonly l7: L7Assembler;
  /** Drops stale record work when the collector falls behind its L7 ring (counted per reason). */
  private readonly shedder: RecordShedder;
  private readonly coverage: L7CoverageClassifier;
  private readonly listeners = new ListenerTable();
  private readonly clock = new Clock();
  private events = 0;
  private health: HealthTracker | null = null;
  private windowStart = Date.now();
  private readonly aggregates: L7AggregateBuilder;
  private readonly capture: CaptureControl;
  /** Start of the kernel aggregates' current window (wall ms), and the drain in progress. */
  private aggWindowStart = Date.now();
  private aggDrain: Promise<void> | null = null;
  /** Per-edge slow thresholds from the drained aggregates (null: off), and how many edges the kernel holds. */
  private readonly slowThresholds: SlowThresholds | null;
  private slowEdges = 0;

  constructor(
    private readonly config: CollectorConfig,
    private readonly log: (msg: string) => void = (m) => console.log(`[collector] ${m}`),
  ) {
    this.transport = trpcTransport(config.server, config.token);
    this.spool = new Spool(config.spoolDir, config.spoolMaxBytes);
    this.shipper = new Shipper(this.transport, this.spool, {
      batchMaxRecords: config.batchMaxRecords,
      flushIntervalMs: config.flushIntervalMs,
      nodeName: config.nodeName,
      log: this.log,
    });
    const serverPort = localServerPort(config.server);
    const self = new SelfMarker({
      ownPid: process.pid,
      rootPids: config.selfPids,
      ports: serverPort ? [serverPort, ...config.selfPorts] : config.selfPorts,
      listenerPid: (port) => this.listeners.pidOf(port),
    });
    this.identity = new IdentityResolver({
      nodeName: config.nodeName,
      rules: config.rulesFile ? RuleSet.fromFile(config.rulesFile) : undefined,
      isSelf: (pid) => self.isSelf(pid),
      processTtlMs: config.processCacheMs,
    });
    // L7 decode coverage per connection, from the kernel's classification in each close event (l7-coverage.ts).
    const coverage = (this.coverage = new L7CoverageClassifier(config.l7 && config.l7Mode !== 'hooks'));
    this.assembler = new FlowAssembler(config.nodeName, this.identity, this.listeners, this.clock, { keepClosedIds: config.l7, coverage });
    this.l7 = new L7Assembler(this.assembler, this.identity, config.nodeName, { redactQueryParams: config.redactQueryParams });
    this.l7.onNotDecodable = (sockId, firstNs) => coverage.markNotDecodable(sockId, firstNs);
    this.aggregates = new L7AggregateBuilder(this.assembler);
    this.shedder = new RecordShedder(config.l7MaxLagMs, undefined, { maxHeapMb: config.l7MaxHeapMb });
    this.capture = new CaptureControl(this.transport, () => this.applyL7Config(), this.log);
    const ms = 1_000_000;
    this.slowThresholds =
      config.l7SlowEdges > 0
        ? new SlowThresholds({ minNs: config.l7SlowMinMs * ms, maxNs: config.l7SlowMaxMs * ms, maxEdges: config.l7SlowEdges })
        : null;
  }

  /** Final rows of HTTP/2 connections the L7 side is done with (or all), their decode class settled. */
  private heldCoverageRows(all: boolean): PendingFlowRow[] {
    return this.coverage.release(Date.now(), (sockId, startNs, endNs) => this.l7.tracks(sockId, startNs, endNs), all);
  }

  /** Whether HTTP is aggregated in the kernel (records kept where they matter). */
  private get signals(): boolean {
    return this.config.l7 && this.config.l7Mode === 'signals';
  }

  /** Slow threshold, record budget and the on-demand capture deadline, to the kernel. */
  private applyL7Config(): void {
    if (!this.probes || !this.signals) return;
    const until = this.capture.deadline();
    this.probes.setL7Config({
      slowNs: BigInt(this.config.l7SlowMs) * 1_000_000n,
      budgetPerSec: this.config.l7RecordBudget,
      recordAllUntilNs: until === null ? 0n : monotonicNsFromEpochMs(until),
    });
  }

  /** Starts observing; throws with a clear reason when eBPF cannot run here. */
  async start(): Promise<void> {
    const pf = preflight();
    if (!pf.ok) throw new Error(`eBPF is not available on this host: ${pf.reason}`);
    this.probes = SextantProbes.open({
      selfPid: this.config.observeSelf ? 0 : process.pid,
      cgroupRoot: this.config.udpFlows ? this.identity.cgroupRoot : null,
      updateIntervalMs: this.config.updateIntervalMs,
      l7: this.config.l7,
      l7Mode: this.config.l7Mode,
      captureBytes: this.config.l7CaptureBytes,
      tcpRingMb: this.config.tcpRingMb,
      l7RingMb: this.config.l7RingMb,
      tls: this.config.l7 && this.config.tls,
    });
    if (this.probes.l7Hooks === 'syscalls')
      this.log(
        'L7 capture from the send/receive syscall tracepoints: this kernel has no sock_send_length/sock_recv_length ' +
          'tracepoints (Linux 6.3+ on x86_64), which cost about half as much per exchange',
      );
    if (this.config.l7 && this.config.tls) {
      this.tlsHooks = new TlsHooks(this.probes.tlsProbes(), { exclude: this.config.tlsExclude, log: this.log });
      this.tlsHooks.start();
      this.timers.push(setInterval(() => this.tlsHooks?.scan(), this.config.tlsScanMs));
    }
    this.applyL7Config();
    this.aggWindowStart = Date.now();
    this.health = new HealthTracker(this.config.nodeName, { available: true });
    // Listeners older than the probes: found in /proc once, now, and given to the kernel side, so that the
    // connections they accept carry their process; later ones the kernel sees at listen().
    const listeners = this.listeners.refresh();
    this.probes.seedListeners(listeners.map((l) => ({ ...l, comm: this.identity.process(l.pid).name })));
    this.listeners.useKernel(this.probes);
    this.probes.onTcpEvents((batch) => {
      this.events += batch.length;
      if (this.config.l7) for (const e of batch) if (e.final) this.l7.connectionClosed(e);
      // (an HTTP/2 connection's row waits for its L7 data: a stream not decodable changes its class, l7-coverage.ts)
      this.shipper.addFlowRows(this.coverage.ready(this.assembler.tcpRows(batch)));
    });
    if (this.config.l7) {
      this.probes.onL7Events((batch) => {
        this.events += batch.length;
        this.shipper.addL7(this.l7.push(this.shedder.filter(batch)));
      });
      this.timers.push(
        setInterval(() => {
          this.shipper.addL7(this.l7.tick());
          this.shipper.addFlowRows(this.heldCoverageRows(false));
        }, 1_000),
      );
    }
    this.shipper.start();
    try {
      const reg = await this.transport.register({ hostname: this.config.nodeName, version: COLLECTOR_VERSION, kernel: os.release() });
      this.log(`registered as "${reg.name}" with ${this.config.server} (server ${reg.serverVersion}, batch schema ${WIRE_SCHEMA_VERSION})`);
    } catch (err) {
      // Not fatal: batches spool until the server answers.
      this.log(`server not reachable yet (${(err as Error).message}); spooling until it is`);
    }
    this.timers.push(setInterval(() => this.drainMaps(), this.config.histogramIntervalMs));
    if (this.signals) {
      this.timers.push(setInterval(() => void this.capture.poll(), this.config.controlIntervalMs));
      void this.capture.poll();
    }
    if (this.config.updateIntervalMs > 0) {
      // A connection is reported between 1 and 1.25 intervals after its previous report.
      this.timers.push(setInterval(() => this.sweepConnections(), Math.max(250, this.config.updateIntervalMs / 4)));
    }
    this.timers.push(setInterval(() => this.reportHealth(), this.config.healthIntervalMs));
    this.timers.push(setInterval(() => this.clock.calibrate(), 60_000));
    this.reportHealth();
  }

  /** Interim reports of long-lived connections: the kernel walks its socket map (one program run). */
  sweepConnections(): void {
    try {
      this.probes?.sweepConnections();
    } catch (err) {
      this.log(`interim report sweep failed: ${(err as Error).message}`);
    }
  }

  /** UDP aggregates, drops and histograms are read and reset from their maps on a timer. */
  drainMaps(): void {
    if (!this.probes) return;
    const now = Date.now();
    const udp = this.probes.drainUdpFlows();
    // (socket housekeeping frees — queues purged at close — are left out by the kernel program)
    const drops = this.probes.drainDrops();
    const hists = this.probes.readAndResetHistograms();
    this.events += udp.length + drops.length;
    this.shipper.addFlows([
      ...udp.map((u) => this.assembler.udp(u)),
      ...drops.map((d) => this.assembler.drop(d)).filter((f) => f !== null),
    ]);
    const window = { start: this.windowStart, seconds: Math.min(3600, Math.max(1, (now - this.windowStart) / 1000)) };
    this.windowStart = now;
    this.assembler.expireIds(now);
    // Signals mode: the HTTP client latencies of aggregated exchanges are in the aggregates, shipped with these.
    if (this.signals) void this.drainL7Aggregates({ hists, ...window });
    else this.shipHistograms(hists, window);
  }

  private shipHistograms(hists: readonly HistogramRecord[], window: { start: number; seconds: number }): void {
    this.shipper.addHistograms(hists.filter((h) => h.idx.length > 0).map((h) => this.assembler.histogram(h, window.start, window.seconds)));
  }

  /**
   * The kernel's HTTP aggregates of the window since the last drain, named and shipped. One drain at a time: a
   * drain still running (a slow event loop) makes this a no-op, and the next one takes everything counted since
   * (the kernel map keeps adding up), so nothing waits in a queue and nothing is lost. The latency histograms drained
   * with them (`kernel`, sx_hist) are shipped with the client aggregates' histograms added (withAggregateHistograms):
   * the kernel times an aggregated client exchange only in its aggregate.
   */
  drainL7Aggregates(kernel?: { hists: readonly HistogramRecord[]; start: number; seconds: number }): Promise<void> {
    if (this.aggDrain) {
      // (the drain running ships its aggregates' histograms; those counted since come with the next one)
      if (kernel) this.shipHistograms(kernel.hists, kernel);
      return this.aggDrain;
    }
    const probes = this.probes;
    if (!probes) return Promise.resolve();
    const start = this.aggWindowStart;
    const end = Date.now();
    this.aggWindowStart = end;
    // The latency histograms' window: sx_hist's, drained just before (or this drain's own when there is none).
    const window = kernel ?? { start, seconds: Math.min(3600, Math.max(1, (end - start) / 1000)) };
    let histsShipped = false;
    this.aggDrain = probes
      .drainL7Aggregates()
      .then((records) => {
        this.events += records.length;
        this.shipper.addL7Aggregates(this.aggregates.rows(records, start, (end - start) / 1000));
        histsShipped = true;
        this.shipHistograms(withAggregateHistograms(kernel?.hists ?? [], records), window);
        this.updateSlowEdges(probes, records);
      })
      .catch((err: unknown) => {
        this.aggWindowStart = start; // the next drain's window covers this one's exchanges
        if (kernel && !histsShipped) this.shipHistograms(kernel.hists, kernel);
        this.log(`L7 aggregate drain failed: ${(err as Error).message}`);
      })
      .finally(() => {
        this.aggDrain = null;
      });
    return this.aggDrain;
  }

  /** Each edge's slow threshold from the window of drains this one joins (their rows are shipped whatever happens). */
  private updateSlowEdges(probes: SextantProbes, records: L7AggregateRecord[]): void {
    if (!this.slowThresholds) return;
    try {
      this.slowEdges = probes.setL7SlowEdges(this.slowThresholds.observe(records));
    } catch (err) {
      this.log(`per-edge slow thresholds not updated: ${(err as Error).message}`);
    }
  }

  private reportHealth(): void {
    if (!this.health) return;
    const counters: ProbeCounters | null = this.probes ? this.probes.readCounters() : null;
    const report = this.health.report(
      counters,
      this.shipper.stats,
      this.spool.stats(),
      this.events,
      this.config.l7 ? { ...this.l7.stats(), shed: this.shedder.stats } : null,
      {
        aggregates: this.aggregates.stats,
        captureUntil: this.capture.deadline(),
        slowEdges: this.slowEdges,
      },
    );
    if (this.tlsHooks) report.details = { ...report.details, ...tlsHealthDetails(this.tlsHooks.stats, counters?.tlsUnpaired ?? 0) };
    this.shipper.setHealth(report);
    this.shipper.cut();
  }

  /** The on-demand capture deadline in force (epoch ms), null when none. */
  captureUntil(): number | null {
    return this.capture.deadline();
  }

  /** Edges the kernel holds a slow threshold of their own for (services/slow-thresholds.ts). */
  slowThresholdEdges(): number {
    return this.slowEdges;
  }

  /** The TLS uprobe attachments (null when TLS plaintext is off). */
  tls(): TlsHooks | null {
    return this.tlsHooks;
  }

  counters(): ProbeCounters | null {
    return this.probes?.readCounters() ?? null;
  }

  /** bench:collector's paired mode (SEXTANT_BENCH_PAUSE, index.ts): SextantProbes.pause / resume. */
  setPaused(paused: boolean): void {
    if (paused) this.probes?.pause();
    else this.probes?.resume();
  }

  /** Detaches the probes first (nothing new arrives), then flushes what is buffered. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.probes) {
      this.drainMaps();
      // The aggregates of the last window: a drain in progress first, then one more for what came since.
      if (this.signals) {
        await this.aggDrain;
        await this.drainL7Aggregates();
      }
      this.tlsHooks?.stop();
      this.probes.close();
      this.probes = null;
      // Whatever is still waiting for a response is reported as an unanswered request.
      this.shipper.addL7(this.l7.tick(Number.POSITIVE_INFINITY));
      this.shedder.stop();
      this.shipper.addFlowRows(this.heldCoverageRows(true));
    }
    this.reportHealth();
    await this.shipper.stop();
  }
}
