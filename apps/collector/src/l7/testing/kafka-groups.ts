/**
 * TEST FIXTURE ONLY — the consumer-group side of the test broker (kafka-broker.ts): the broker is its own
 * coordinator, a group has ONE member at a time (every join starts a new generation with that member as its
 * leader), assignments are kept as the leader sent them, and committed offsets are kept in memory.
 */
import { ERR, type In, NODE_ID, type Out } from './kafka-wire';

export class KafkaTestGroups {
  /** `${group}/${topic}/${partition}` → offset. */
  readonly committed = new Map<string, bigint>();
  private readonly groups = new Map<
    string,
    { generation: number; members: Map<string, Buffer>; protocol: string; assignments: Map<string, Buffer> }
  >();
  private nextMember = 1;

  /** `advertisedPort`: where clients reach the coordinator (the broker, or a tee in front of it). */
  constructor(private readonly advertisedPort: () => number) {}

  /** FindCoordinator (this broker), JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetFetch, OffsetCommit. */
  handle(apiKey: number, r: In, w: Out, v: number): Out {
    if (apiKey === 10) {
      r.str(); // key
      if (v >= 1) w.i32(0).i16(ERR.NONE).str(null);
      else w.i16(ERR.NONE);
      return w.i32(NODE_ID).str('127.0.0.1').i32(this.advertisedPort());
    }
    const groupId = r.str() ?? '';
    const group = this.groups.get(groupId) ?? {
      generation: 0,
      members: new Map<string, Buffer>(),
      protocol: '',
      assignments: new Map<string, Buffer>(),
    };
    this.groups.set(groupId, group);
    if (apiKey === 11) {
      r.i32(); // session timeout
      if (v >= 1) r.i32(); // rebalance timeout
      const memberId = r.str() || `member-${this.nextMember++}`;
      r.str(); // protocol type
      const protocols = r.arr(() => ({ name: r.str() ?? '', metadata: r.bytes() ?? Buffer.alloc(0) })) ?? [];
      // One member at a time: every join starts a new generation with just this member, its own leader.
      group.generation++;
      group.members = new Map([[memberId, protocols[0]?.metadata ?? Buffer.alloc(0)]]);
      group.protocol = protocols[0]?.name ?? '';
      if (v >= 2) w.i32(0);
      w.i16(ERR.NONE).i32(group.generation).str(group.protocol).str(memberId).str(memberId);
      return w.arr([...group.members], ([id, metadata]) => w.str(id).bytes(metadata));
    }
    if (apiKey === 14) {
      const generation = r.i32();
      const memberId = r.str() ?? '';
      for (const a of r.arr(() => ({ id: r.str() ?? '', assignment: r.bytes() ?? Buffer.alloc(0) })) ?? [])
        group.assignments.set(a.id, a.assignment);
      if (v >= 1) w.i32(0);
      const error = !group.members.has(memberId)
        ? ERR.UNKNOWN_MEMBER_ID
        : generation !== group.generation
          ? ERR.ILLEGAL_GENERATION
          : ERR.NONE;
      return w.i16(error).bytes(group.assignments.get(memberId) ?? Buffer.alloc(0));
    }
    if (apiKey === 12 || apiKey === 13) {
      if (apiKey === 12) r.i32(); // generation
      const memberId = r.str() ?? '';
      if (v >= 1) w.i32(0);
      if (apiKey === 13) group.members.delete(memberId);
      return w.i16(apiKey === 12 && !group.members.has(memberId) ? ERR.UNKNOWN_MEMBER_ID : ERR.NONE);
    }
    if (apiKey === 9) {
      const topics = r.arr(() => ({ name: r.str() ?? '', parts: r.ints() }));
      if (v >= 3) w.i32(0);
      w.arr(topics ?? [], (t) =>
        w.str(t.name).arr(t.parts, (p) => {
          w.i32(p).i64(this.committed.get(`${groupId}/${t.name}/${p}`) ?? -1n);
          if (v >= 5) w.i32(-1); // committed leader epoch
          w.str('').i16(ERR.NONE);
        }),
      );
      return (v >= 2 ? w.i16(ERR.NONE) : w).tags();
    }
    // OffsetCommit 2–5
    r.i32(); // generation
    r.str(); // member id
    if (v <= 4) r.i64(); // retention time
    const topics =
      r.arr(() => ({ name: r.str() ?? '', parts: r.arr(() => ({ index: r.i32(), offset: r.i64(), metadata: r.str() })) ?? [] })) ?? [];
    for (const t of topics) for (const p of t.parts) this.committed.set(`${groupId}/${t.name}/${p.index}`, p.offset);
    if (v >= 3) w.i32(0);
    return w.arr(topics, (t) => w.str(t.name).arr(t.parts, (p) => w.i32(p.index).i16(ERR.NONE)));
  }
}
