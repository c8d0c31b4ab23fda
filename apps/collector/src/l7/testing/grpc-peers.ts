/**
 * Test helper: a real @grpc/grpc-js server and client (h2c, insecure credentials) for one service defined
 * without a .proto: messages are raw bytes (a UTF-8 key). `test.Store/Get` is unary — key "missing" answers
 * NOT_FOUND, "boom" INTERNAL, anything else OK; `test.Store/List` streams `n` replies (n = the key's length)
 * then OK, or fails with UNAVAILABLE after two replies when the key is "flaky". Test use only.
 */
import * as grpc from '@grpc/grpc-js';

const bytes = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};
export const STORE_SERVICE: grpc.ServiceDefinition = {
  Get: { path: '/test.Store/Get', requestStream: false, responseStream: false, ...bytes },
  List: { path: '/test.Store/List', requestStream: false, responseStream: true, ...bytes },
};

export async function startGrpcServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = new grpc.Server();
  server.addService(STORE_SERVICE, {
    Get: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      const key = call.request.toString();
      if (key === 'missing') return done({ code: grpc.status.NOT_FOUND, details: `no key ${key}` });
      if (key === 'boom') return done({ code: grpc.status.INTERNAL, details: 'store failed' });
      done(null, Buffer.from(`value of ${key}`));
    },
    List: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const key = call.request.toString();
      if (key === 'flaky') {
        call.write(Buffer.from('1'));
        call.write(Buffer.from('2'));
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'backend went away' });
        return;
      }
      for (let i = 0; i < key.length; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

export interface GrpcOutcome {
  method: 'Get' | 'List';
  key: string;
  code: number;
  replies: number;
}

/** A client on one channel (one HTTP/2 connection) to `port`. */
export function grpcClient(port: number) {
  const Client = grpc.makeGenericClientConstructor(STORE_SERVICE, 'Store');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Get: (req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void;
    List: (req: Buffer) => grpc.ClientReadableStream<Buffer>;
  };
  const get = (key: string) =>
    new Promise<GrpcOutcome>((resolve) =>
      client.Get(Buffer.from(key), (err) => resolve({ method: 'Get', key, code: err ? err.code : grpc.status.OK, replies: err ? 0 : 1 })),
    );
  const list = (key: string) =>
    new Promise<GrpcOutcome>((resolve) => {
      let replies = 0;
      const call = client.List(Buffer.from(key));
      call.on('data', () => replies++);
      call.on('error', (err: grpc.ServiceError) => resolve({ method: 'List', key, code: err.code, replies }));
      call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve({ method: 'List', key, code: 0, replies }));
    });
  return { get, list, close: () => client.close() };
}
