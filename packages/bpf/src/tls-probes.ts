/**
 * The TLS plaintext uprobes (sextant_tls.bpf.h) attached to one binary file at a time: an entry probe on each of
 * SSL_read, SSL_write, SSL_read_ex and SSL_write_ex, and one return probe on all four. A file is libssl.so.3
 * (source 'openssl') or a node binary with OpenSSL linked in ('node'); the source travels as the attach cookie
 * into sx_l7_header.tls. The kernel attaches to the file's inode: every process mapping it, now or later, is
 * covered by one attachment, so callers attach a file once (see the collector's TlsHooks).
 */
import { SX_TLS_NODE, SX_TLS_OPENSSL } from './generated/events';
import { BpfError, check, type NativeAddon } from './native';

export type TlsSource = 'openssl' | 'node';

export const TLS_SOURCES: Record<TlsSource, number> = { openssl: SX_TLS_OPENSSL, node: SX_TLS_NODE };

/** sx_l7_header.tls → its source; undefined for bytes from a syscall. */
export function tlsSourceOf(tls: number): TlsSource | undefined {
  return tls === SX_TLS_OPENSSL ? 'openssl' : tls === SX_TLS_NODE ? 'node' : undefined;
}

/** (function, program, return probe) for every link of one file. */
export const TLS_HOOKS: readonly { func: string; program: string; retprobe: boolean }[] = [
  { func: 'SSL_read', program: 'sx_tls_read_entry', retprobe: false },
  { func: 'SSL_write', program: 'sx_tls_write_entry', retprobe: false },
  { func: 'SSL_read_ex', program: 'sx_tls_read_ex_entry', retprobe: false },
  { func: 'SSL_write_ex', program: 'sx_tls_write_ex_entry', retprobe: false },
  { func: 'SSL_do_handshake', program: 'sx_tls_handshake_entry', retprobe: false },
  { func: 'SSL_read', program: 'sx_tls_return', retprobe: true },
  { func: 'SSL_write', program: 'sx_tls_return', retprobe: true },
  { func: 'SSL_read_ex', program: 'sx_tls_return', retprobe: true },
  { func: 'SSL_write_ex', program: 'sx_tls_return', retprobe: true },
  { func: 'SSL_do_handshake', program: 'sx_tls_return', retprobe: true },
];

/** One file's links; detach() removes them all. */
export interface TlsAttachment {
  readonly path: string;
  readonly source: TlsSource;
  readonly links: readonly number[];
}

export class TlsProbes {
  constructor(
    private readonly addon: NativeAddon,
    private readonly handle: number,
    private readonly closed: () => boolean,
  ) {}

  /**
   * Attaches the eight probes to `path`. All or nothing: when one fails (a binary without the symbols: ENOENT;
   * not an ELF file: EINVAL …) those already attached are detached and the BpfError names the function.
   */
  attachFile(path: string, source: TlsSource): TlsAttachment {
    if (this.closed()) throw new BpfError('attach TLS uprobes (probes closed)', 9 /* EBADF */);
    const cookie = TLS_SOURCES[source];
    const links: number[] = [];
    try {
      for (const h of TLS_HOOKS) {
        const what = `attach ${h.retprobe ? 'uretprobe' : 'uprobe'} ${h.func} in ${path}`;
        links.push(check(what, this.addon.attachUprobe(this.handle, h.program, path, h.func, h.retprobe, cookie)));
      }
    } catch (err) {
      this.detachLinks(links);
      throw err;
    }
    return { path, source, links };
  }

  detach(a: TlsAttachment): void {
    this.detachLinks(a.links);
  }

  private detachLinks(links: readonly number[]): void {
    if (this.closed()) return; // close() destroyed every link already
    for (const id of links) this.addon.detachLink(this.handle, id);
  }
}
