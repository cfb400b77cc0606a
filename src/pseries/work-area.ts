// A read cursor over an RTAS work area (the 4 KiB rtas_data_buf the kernel hands firmware): big-endian
// words, NUL-terminated names and raw bytes, read in order the way mobility.c walks its buffers.
// Reading past the end is not followed: `overran` says it happened (the kernel would read garbage).

export class WorkAreaCursor {
  private readonly view: DataView;
  private readonly buf: Uint8Array;
  private pos: number;
  overran = false;

  constructor(buf: Uint8Array, start = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  get offset(): number {
    return this.pos;
  }

  /** A be32 word, or 0 once past the end (with `overran` set). */
  u32(): number {
    if (this.pos + 4 > this.buf.length) {
      this.overran = true;
      this.pos = this.buf.length;
      return 0;
    }
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  peekByte(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : 0;
  }

  skip(n: number): void {
    this.pos = Math.min(this.buf.length, this.pos + n);
  }

  /** A NUL-terminated name (UTF-8), the cursor left after its NUL. */
  cString(): string {
    let end = this.buf.indexOf(0, this.pos);
    if (end < 0) {
      this.overran = true;
      end = this.buf.length;
    }
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, end));
    this.pos = Math.min(this.buf.length, end + 1);
    return s;
  }

  /** The next `n` bytes, copied (the kernel copies values out of the work area). */
  bytes(n: number): Uint8Array {
    const out = this.buf.slice(this.pos, this.pos + n);
    if (this.pos + n > this.buf.length) this.overran = true;
    this.pos = Math.min(this.buf.length, this.pos + n);
    return out;
  }
}
