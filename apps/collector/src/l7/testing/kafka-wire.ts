/**
 * TEST FIXTURE ONLY — the Kafka wire primitives of the test broker (kafka-broker.ts): a reader (In) and a
 * writer (Out) of int8..int64, varints, (compact) strings, bytes and arrays, tagged fields for flexible versions;
 * the error codes it answers with and its node id.
 */
/** Kafka error codes the fixture answers with. */
export const ERR = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  UNSUPPORTED_VERSION: 35,
};
export const NODE_ID = 1;

export class In {
  pos = 0;
  constructor(
    private readonly b: Buffer,
    public flex = false,
  ) {}
  i8 = () => this.b.readInt8(this.pos++);
  i16 = () => ((this.pos += 2), this.b.readInt16BE(this.pos - 2));
  i32 = () => ((this.pos += 4), this.b.readInt32BE(this.pos - 4));
  i64 = () => ((this.pos += 8), this.b.readBigInt64BE(this.pos - 8));
  uvar(): number {
    let v = 0;
    for (let s = 0; ; s += 7) {
      const x = this.b[this.pos++]!;
      v += (x & 0x7f) * 2 ** s;
      if (!(x & 0x80) || s > 28) return v;
    }
  }
  len = (classic: () => number) => (this.flex ? this.uvar() - 1 : classic());
  str(): string | null {
    const n = this.len(this.i16);
    if (n < 0) return null;
    this.pos += n;
    return this.b.toString('utf8', this.pos - n, this.pos);
  }
  bytes(): Buffer | null {
    const n = this.len(this.i32);
    if (n < 0) return null;
    this.pos += n;
    return this.b.subarray(this.pos - n, this.pos);
  }
  arr<T>(fn: () => T): T[] | null {
    const n = this.len(this.i32);
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) {
      out.push(fn());
      this.tags();
    }
    return out;
  }
  /** An array of int32 (no tagged fields per element, unlike struct arrays). */
  ints(): number[] {
    const n = this.len(this.i32);
    return Array.from({ length: Math.max(0, n) }, () => this.i32());
  }
  tags(): void {
    if (!this.flex) return;
    for (let n = this.uvar(); n > 0; n--) {
      this.uvar();
      this.pos += this.uvar();
    }
  }
}

export class Out {
  private parts: Buffer[] = [];
  constructor(public flex = false) {}
  private push(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }
  i8 = (v: number) => this.push(1, (b) => b.writeInt8(v));
  i16 = (v: number) => this.push(2, (b) => b.writeInt16BE(v));
  i32 = (v: number) => this.push(4, (b) => b.writeInt32BE(v));
  i64 = (v: bigint | number) => this.push(8, (b) => b.writeBigInt64BE(BigInt(v)));
  uvar(v: number): this {
    const bytes: number[] = [];
    do {
      bytes.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
      v = Math.floor(v / 128);
    } while (v > 0);
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  private len(n: number, classic: (n: number) => this): this {
    return this.flex ? this.uvar(n + 1) : classic(n);
  }
  str(s: string | null): this {
    if (s === null) return this.len(-1, this.i16);
    const b = Buffer.from(s);
    this.len(b.length, this.i16);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.len(-1, this.i32);
    this.len(b.length, this.i32);
    this.parts.push(b);
    return this;
  }
  arr<T>(items: T[] | null, fn: (x: T) => void): this {
    if (items === null) return this.len(-1, this.i32);
    this.len(items.length, this.i32);
    for (const x of items) {
      fn(x);
      this.tags();
    }
    return this;
  }
  /** An array of int32 (no tagged fields per element, unlike struct arrays). */
  ints(items: number[]): this {
    this.len(items.length, this.i32);
    for (const x of items) this.i32(x);
    return this;
  }
  uuid = () => this.push(16, () => undefined);
  tags = () => (this.flex ? this.uvar(0) : this);
  done = () => Buffer.concat(this.parts);
}
