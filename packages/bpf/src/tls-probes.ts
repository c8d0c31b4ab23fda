/**
 * The TLS plaintext uprobes (sextant_tls.bpf.h) attached to one binary file at a time: an entry and a return
 * probe on each of SSL_read, SSL_read_ex, SSL_write, SSL_write_ex and SSL_do_handshake, or, where the kernel
 * would single-step those entries (Debian's libssl), on the internal functions both SSL_x and SSL_x_ex wrap
 * (probe-sites.ts decides from the file's code). A file is libssl.so.3
 * (source 'openssl') or a node binary with OpenSSL linked in ('node'); the source travels as the attach cookie
 * into sx_l7_header.tls. The kernel attaches to the file's inode: every process mapping it, now or later, is
 * covered by one attachment, so callers attach a file once (see the collector's TlsHooks).
 */
import { SX_TLS_NODE, SX_TLS_OPENSSL } from './generated/events';
import { BpfError, check, type NativeAddon } from './native';
import { planTlsSites } from './probe-sites';

export type TlsSource = 'openssl' | 'node';

export const TLS_SOURCES: Record<TlsSource, number> = { openssl: SX_TLS_OPENSSL, node: SX_TLS_NODE };

/** sx_l7_header.tls → its source; undefined for bytes from a syscall. */
export function tlsSourceOf(tls: number): TlsSource | undefined {
  return tls === SX_TLS_OPENSSL ? 'openssl' : tls === SX_TLS_NODE ? 'node' : undefined;
}

/** One file's links; detach() removes them all. */
export interface TlsAttachment {
  readonly path: string;
  readonly source: TlsSource;
  readonly links: readonly number[];
  /** Directions probed at OpenSSL's internal read / write function instead of the SSL_x and SSL_x_ex symbols. */
  readonly internal: readonly ('read' | 'write')[];
  /** Functions probed on an instruction the kernel single-steps (a debug trap per call: the expensive path). */
  readonly singleStepped: readonly string[];
  /** Why the file's code was not decoded (probed by symbol, cost unknown); undefined when it was. */
  readonly undecoded?: string;
}

export class TlsProbes {
  constructor(
    private readonly addon: NativeAddon,
    private readonly handle: number,
    private readonly closed: () => boolean,
  ) {}

  /**
   * Attaches the probes to `path` at the sites planTlsSites chooses. All or nothing: when one fails (a binary
   * without the symbols: ENOENT; not an ELF file: EINVAL …) those already attached are detached and the BpfError
   * names the function. `sites: 'symbols'` keeps the probes on the SSL_* symbols even where they are single-stepped
   * (a diagnostic switch: the cost comparison, or a build whose internal functions are not what they seem).
   */
  attachFile(path: string, source: TlsSource, sites: 'auto' | 'symbols' = 'auto'): TlsAttachment {
    if (this.closed()) throw new BpfError('attach TLS uprobes (probes closed)', 9 /* EBADF */);
    const cookie = TLS_SOURCES[source];
    const plan = planTlsSites(path, sites);
    const links: number[] = [];
    try {
      for (const h of plan.hooks) {
        const where = h.func ? `${h.func}${h.offset ? `+${h.offset}` : ''}` : `file offset 0x${h.offset.toString(16)}`;
        const what = `attach ${h.retprobe ? 'uretprobe' : 'uprobe'} ${where} in ${path}`;
        const [func, offset] = h.fileOffset === undefined ? [h.func, h.offset] : ['', h.fileOffset];
        links.push(check(what, this.addon.attachUprobe(this.handle, h.program, path, func, h.retprobe, cookie, offset)));
      }
    } catch (err) {
      this.detachLinks(links);
      throw err;
    }
    return { path, source, links, internal: plan.internal, singleStepped: plan.singleStepped, undecoded: plan.undecoded };
  }

  detach(a: TlsAttachment): void {
    this.detachLinks(a.links);
  }

  private detachLinks(links: readonly number[]): void {
    if (this.closed()) return; // close() destroyed every link already
    for (const id of links) this.addon.detachLink(this.handle, id);
  }
}
