/**
 * A live-tail subscription (flows.tail) read as server-sent events over HTTP, as the UI's link reads it: the
 * record ids it delivered, in order. For the Citus replica and failure tests.
 */
export interface TailReader {
  /** Record ids (flow or L7 event id) in delivery order. */
  records: string[];
  /** The last event id (the cursor a reconnect would resume from). */
  lastEventId: string | null;
  /** Why the stream ended, when the server ended it or the request failed (not after stop()). */
  error: string | null;
  /** With `reconnect`: why each earlier stream ended before it resumed from its last event id. */
  reconnects: string[];
  stop(): void;
  done: Promise<void>;
}

/**
 * `reconnect`: when the stream ends or fails, subscribe again from the last event id after 500 ms, as the UI's
 * subscription link does (each reason kept in `reconnects`).
 */
export function subscribeTail(
  serverUrl: string,
  token: string,
  input: Record<string, unknown>,
  opts: { reconnect?: boolean } = {},
): TailReader {
  const ac = new AbortController();
  const reader: TailReader = {
    records: [],
    lastEventId: null,
    error: null,
    reconnects: [],
    stop: () => ac.abort(),
    done: Promise.resolve(),
  };
  const once = async () => {
    const from = reader.lastEventId ? { ...input, lastEventId: reader.lastEventId } : input;
    const url = `${serverUrl}/api/trpc/flows.tail?input=${encodeURIComponent(JSON.stringify(from))}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ac.signal });
    if (!res.ok || !res.body) throw new Error(`tail answered ${res.status}`);
    const body = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await body.read();
      if (done) throw new Error('the server ended the stream');
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let id = '';
        let data = '';
        let type = 'message';
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data += line.slice(6);
          else if (line.startsWith('event: ')) type = line.slice(7);
        }
        if (type === 'serialized-error') throw new Error(`the tail failed: ${data}`);
        if (type !== 'message' || !id) continue;
        const r = JSON.parse(data) as { kind: 'flow'; flow: { id: string } } | { kind: 'l7'; event: { id: string } };
        reader.records.push(r.kind === 'flow' ? r.flow.id : r.event.id);
        reader.lastEventId = id;
      }
    }
  };
  reader.done = (async () => {
    for (;;) {
      try {
        await once();
      } catch (err) {
        if (ac.signal.aborted) return;
        if (!opts.reconnect) {
          reader.error = String(err);
          return;
        }
        reader.reconnects.push(String(err));
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return reader;
}

/** Waits until `cond` holds or `ms` pass (the caller asserts what it expected). */
export async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}
