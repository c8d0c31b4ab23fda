/**
 * Test helper: server-sent events read from a response body the way an EventSource splits them (blank-line
 * separated blocks of `id:`, `event:` and `data:` lines), and the record id in a flows.tail message.
 */

export interface SseEvent {
  /** The block's `id:` ('' when none). */
  id: string;
  /** The block's `event:` ('message' when none). */
  type: string;
  /** The block's `data:` lines, joined. */
  data: string;
}

/** Every event of `body` in order; ends when the stream ends. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev: SseEvent = { id: '', type: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
        else if (line.startsWith('event: ')) ev.type = line.slice(7);
      }
      yield ev;
    }
  }
}

/** The record id (a flow's or an L7 event's) a flows.tail message carries. */
export function tailRecordId(data: string): string {
  const r = JSON.parse(data) as { kind: 'flow'; flow: { id: string } } | { kind: 'l7'; event: { id: string } };
  return r.kind === 'flow' ? r.flow.id : r.event.id;
}
