/** The throwaway self-signed certificate of the TLS tests and benchmarks: made by @sextant/bpf's testing helpers. */
export { hasOpenssl, makeSelfSignedCert, type TlsCert } from '@sextant/bpf/testing';
