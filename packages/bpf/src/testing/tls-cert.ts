/**
 * A throwaway self-signed certificate for TLS tests and benchmarks, made at test time with the `openssl` CLI
 * (P-256, valid two days, no CA): clients trust it by passing the certificate itself as their CA, so every
 * handshake is verified for real. Names: localhost, shop.test (the Host header the collector's HTTP mix sends, which node's
 * https agent uses as the server name) and IP 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TlsCert {
  dir: string;
  /** PEM files. */
  key: string;
  cert: string;
}

/** Whether the `openssl` CLI is on the PATH (scripts/install-system-deps.sh test installs it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes key.pem and cert.pem into `dir` (created if missing). */
export function makeSelfSignedCert(dir: string): TlsCert {
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,DNS:shop.test,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { dir, key, cert };
}
