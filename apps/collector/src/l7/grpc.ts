/**
 * gRPC over HTTP/2 (the gRPC "PROTOCOL-HTTP2" spec): a call is an HTTP/2 stream whose request content-type is
 * application/grpc[+format]; :path is "/<service>/<method>"; the outcome is grpc-status (and grpc-message,
 * percent-encoded) in the trailers, or in the response headers of a trailers-only response.
 */

/** Whether a request content-type is gRPC's (application/grpc, application/grpc+proto, …; not grpc-web). */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const v = ct.trim().toLowerCase();
  return v === 'application/grpc' || v.startsWith('application/grpc+') || v.startsWith('application/grpc;');
}

/** "/helloworld.Greeter/SayHello" → service and method; null when the path is not of that shape. */
export function grpcNames(path: string): { service: string; method: string } | null {
  const m = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path);
  return m ? { service: m[1]!, method: m[2]! } : null;
}

/** grpc-status: a non-negative decimal integer; undefined when absent or malformed. */
export function parseGrpcStatus(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,10}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n <= 2 ** 31 - 1 ? n : undefined;
}

/** grpc-message is percent-encoded UTF-8; undecodable sequences are kept as they came. */
export function decodeGrpcMessage(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
