/**
 * A live-tail subscription (flows.tail) read as server-sent events over HTTP, as the UI's link reads it: the
 * record ids it delivered, in order. For the Citus replica and failure tests.
 */
import { sseEvents, tailRecordId } from '../testing/sse';

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
    for await (const ev of sseEvents(res.body)) {
      if (ev.type === 'serialized-error') throw new Error(`the tail failed: ${ev.data}`);
      if (ev.type !== 'message' || !ev.id) continue;
      reader.records.push(tailRecordId(ev.data));
      reader.lastEventId = ev.id;
    }
    throw new Error('the server ended the stream');
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
