// A small msgpack encoder that writes the exact bytes Python's msgpack.packb() (1.x, use_bin_type) writes for token payloads.
// @msgpack/msgpack cannot be told that one number is a float: it writes 1767225600.0 as an
// integer, while Keystone always packs expires_at as a float64. Same meaning, different bytes;
// owning the encoder keeps our tokens byte-identical to Keystone's. Decoding uses @msgpack/msgpack.

/** A number to be written as msgpack float64, as Python writes every `float`. */
export class PackFloat {
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }
}

export type Packable = null | boolean | number | string | Uint8Array | PackFloat | readonly Packable[];

class Writer {
  #chunks: Buffer[] = [];

  byte(b: number): void {
    this.#chunks.push(Buffer.of(b));
  }

  bytes(b: Uint8Array): void {
    this.#chunks.push(Buffer.from(b));
  }

  head(tag: number, size: 1 | 2 | 4 | 8, value: number | bigint): void {
    const buf = Buffer.alloc(1 + size);
    buf[0] = tag;
    if (size === 1) buf.writeUInt8(Number(value), 1);
    else if (size === 2) buf.writeUInt16BE(Number(value), 1);
    else if (size === 4) buf.writeUInt32BE(Number(value), 1);
    else buf.writeBigUInt64BE(BigInt(value), 1);
    this.#chunks.push(buf);
  }

  signed(tag: number, size: 1 | 2 | 4 | 8, value: number): void {
    const buf = Buffer.alloc(1 + size);
    buf[0] = tag;
    if (size === 1) buf.writeInt8(value, 1);
    else if (size === 2) buf.writeInt16BE(value, 1);
    else if (size === 4) buf.writeInt32BE(value, 1);
    else buf.writeBigInt64BE(BigInt(value), 1);
    this.#chunks.push(buf);
  }

  done(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

function writeInt(w: Writer, n: number): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`msgpack: ${n} is not a safe integer; wrap floats in PackFloat`);
  // Python's packer picks the smallest form, unsigned for non-negative values.
  if (n >= 0) {
    if (n < 0x80) w.byte(n);
    else if (n < 0x100) w.head(0xcc, 1, n);
    else if (n < 0x10000) w.head(0xcd, 2, n);
    else if (n < 0x100000000) w.head(0xce, 4, n);
    else w.head(0xcf, 8, n);
  } else if (n >= -32) w.byte(n & 0xff);
  else if (n >= -0x80) w.signed(0xd0, 1, n);
  else if (n >= -0x8000) w.signed(0xd1, 2, n);
  else if (n >= -0x80000000) w.signed(0xd2, 4, n);
  else w.signed(0xd3, 8, n);
}

function writeLength(w: Writer, n: number, fix: { tag: number; max: number } | undefined, tags: readonly [number, number, number]): void {
  if (fix !== undefined && n <= fix.max) w.byte(fix.tag | n);
  else if (n < 0x100 && tags[0] !== 0) w.head(tags[0], 1, n);
  else if (n < 0x10000) w.head(tags[1], 2, n);
  else w.head(tags[2], 4, n);
}

function write(w: Writer, v: Packable): void {
  if (v === null) w.byte(0xc0);
  else if (v === false) w.byte(0xc2);
  else if (v === true) w.byte(0xc3);
  else if (typeof v === 'number') writeInt(w, v);
  else if (v instanceof PackFloat) {
    const buf = Buffer.alloc(9);
    buf[0] = 0xcb;
    buf.writeDoubleBE(v.value, 1);
    w.bytes(buf);
  } else if (typeof v === 'string') {
    const utf8 = Buffer.from(v, 'utf8');
    writeLength(w, utf8.length, { tag: 0xa0, max: 31 }, [0xd9, 0xda, 0xdb]);
    w.bytes(utf8);
  } else if (v instanceof Uint8Array) {
    writeLength(w, v.length, undefined, [0xc4, 0xc5, 0xc6]);
    w.bytes(v);
  } else {
    // arrays have no 8-bit length form in msgpack
    writeLength(w, v.length, { tag: 0x90, max: 15 }, [0, 0xdc, 0xdd]);
    for (const item of v) write(w, item);
  }
}

/** msgpack.packb(value) for the value shapes token payloads use (tuples become arrays). */
export function packb(value: Packable): Buffer {
  const w = new Writer();
  write(w, value);
  return w.done();
}
