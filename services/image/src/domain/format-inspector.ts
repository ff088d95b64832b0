// Streaming disk-image inspection: virtual size, the format the bytes really are, and upstream's safety checks, in bounded memory.
//
// Image data flows through the API once (PUT /v2/images/{id}/file, or the import task's copy
// from staging); the service feeds every chunk here and asks at the end. Nothing is buffered
// beyond the header regions each format needs and a 1536-byte rolling tail (the fixed VHD
// footer and the streamOptimized VMDK footer live at the end of the file).
//
// Layouts and checks follow what Glance does (Zed's glance/common/format_inspector.py as Debian
// 12 ships it with the OSSA-2024-001 backport, and the later oslo.utils imageutils inspector that
// Glance master uses), and where they disagree with qemu about a number, qemu wins: the virtual
// size is what the hypervisor will see. The differences from Glance are listed in the comments
// marked COMPAT.

/** Formats whose headers are understood; other disk_formats (ami, aki, ari, ploop) cannot be inspected. */
export const INSPECTABLE_FORMATS: readonly string[] = ['raw', 'qcow2', 'vhd', 'vhdx', 'vmdk', 'vdi', 'iso'];

/** The largest descriptor kept: qemu reads at most 1 MiB - 1 of a VMDK descriptor, and so does Glance. */
const VMDK_DESCRIPTOR_MAX = (1 << 20) - 1;
/** The rolling tail: a streamOptimized VMDK footer (marker, header copy, end-of-stream marker), which also covers the 512-byte VHD footer. */
const TAIL_BYTES = 1536;

export interface InspectionResult {
  /**
   * The virtual disk's size in bytes, as Glance would record it in virtual_size; null when it
   * is unknown or Glance leaves it unset (data not in the declared format, a format without an
   * inspector, or a size of 0, which Glance treats as unknown). For raw it is the byte count.
   */
  virtualSize: number | null;
  /**
   * Whether the bytes are the declared disk_format: false when they are another recognised
   * format (or several), or when the declared format's signature is missing or its structure
   * broken. null for formats that cannot be inspected (ami, aki, ari, ploop, ...) whose data is
   * no recognised format.
   */
  formatMatches: boolean | null;
  /** What the bytes are: 'raw' when no format's header was found, 'a+b' when several were. */
  detected: string;
  /** The variant where one matters: qcow2 'v2'/'v3', the vmdk createType, vhd 'fixed'/'dynamic'/'differencing', vdi 'dynamic'/'static'. */
  subformat?: string;
  /** Why the declared format's own inspector gave up, when it found its signature but not a valid structure. */
  formatError?: string;
  /**
   * Why these bytes are unsafe to hand to qemu-img or a hypervisor, as `check: reason` with
   * upstream's check names (backing_file, data_file, unknown_features, descriptor, footer,
   * banned, ...). These are the checks of the format the data really is: declared raw but
   * carrying a qcow2 header with a backing file still reports backing_file.
   */
  safetyIssues: string[];
  /**
   * The message Glance master refuses this upload or import with (InvalidImageData, 415 on PUT
   * /file; a failed import task that puts the image back to queued), with its default
   * [image_format] require_image_format_match = true; null when master accepts it. Zed (Debian
   * 12) refuses nothing at upload or import: it only leaves virtual_size unset on a mismatch.
   */
  rejection: string | null;
  /** Bytes fed. */
  size: number;
}

export interface FormatInspector {
  /** Hands the next chunk of image data over; never throws on bad data (a broken header is a verdict, not an error). */
  feed(chunk: Uint8Array): void;
  /** Ends the stream. totalBytes, when given, must equal the bytes fed (a guard against a lost chunk). */
  finish(totalBytes?: number): InspectionResult;
  /** Bytes held right now (captured header regions and the tail): what the memory bound is about. */
  readonly heldBytes: number;
}

/** An inspector for an image declared as diskFormat (any string; unknown formats are simply not inspectable). */
export function createInspector(diskFormat: string): FormatInspector {
  return new StreamInspector(diskFormat);
}

// ---------------------------------------------------------------------------------------------
// Capturing regions of a stream

/** A byte range of the file to keep, filled in order as chunks pass; its buffer grows with what it holds. */
class Region {
  readonly offset: number;
  readonly length: number;
  private buf: Uint8Array;
  filled = 0;

  constructor(offset: number, length: number) {
    this.offset = offset;
    this.length = Math.max(0, length);
    this.buf = new Uint8Array(Math.min(this.length, 4096));
  }

  get complete(): boolean {
    return this.filled === this.length;
  }

  get held(): number {
    return this.buf.length;
  }

  /** What has been captured so far. */
  get data(): Uint8Array {
    return this.buf.subarray(0, this.filled);
  }

  /** Takes what it still needs from a chunk that starts at file offset `start`. */
  capture(chunk: Uint8Array, start: number): void {
    const want = this.offset + this.filled;
    if (this.complete || want < start || want >= start + chunk.length) return;
    const from = want - start;
    const n = Math.min(this.length - this.filled, chunk.length - from);
    this.append(chunk.subarray(from, from + n));
  }

  /** Copies what an earlier region already captured of this one (a region found after the stream passed its start). */
  seed(other: Region): void {
    const want = this.offset + this.filled;
    if (this.complete || want < other.offset || want >= other.offset + other.filled) return;
    const from = want - other.offset;
    const n = Math.min(this.length - this.filled, other.filled - from);
    this.append(other.data.subarray(from, from + n));
  }

  private append(bytes: Uint8Array): void {
    const need = this.filled + bytes.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.length, Math.max(need, this.buf.length * 2)));
      grown.set(this.data);
      this.buf = grown;
    }
    this.buf.set(bytes, this.filled);
    this.filled = need;
  }
}

/** The last TAIL_BYTES bytes of the stream. */
class Tail {
  private readonly buf = new Uint8Array(TAIL_BYTES);
  private len = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length >= TAIL_BYTES) {
      this.buf.set(chunk.subarray(chunk.length - TAIL_BYTES));
      this.len = TAIL_BYTES;
      return;
    }
    const keep = Math.min(this.len, TAIL_BYTES - chunk.length);
    this.buf.copyWithin(0, this.len - keep, this.len);
    this.buf.set(chunk, keep);
    this.len = keep + chunk.length;
  }

  /** The last n bytes, or null when the stream was shorter. */
  last(n: number): Uint8Array | null {
    return n <= this.len ? this.buf.subarray(this.len - n, this.len) : null;
  }

  get held(): number {
    return this.buf.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading fields

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u16le = (b: Uint8Array, at: number) => view(b).getUint16(at, true);
const u32le = (b: Uint8Array, at: number) => view(b).getUint32(at, true);
const u32be = (b: Uint8Array, at: number) => view(b).getUint32(at, false);
/** A 64-bit field as a number; beyond 2^53 it is Infinity, which no region reaches and no size accepts. */
const toNumber = (v: bigint) => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v));
const u64le = (b: Uint8Array, at: number) => toNumber(view(b).getBigUint64(at, true));
const u64be = (b: Uint8Array, at: number) => toNumber(view(b).getBigUint64(at, false));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const startsWith = (b: Uint8Array, prefix: Uint8Array, at = 0) =>
  b.length >= at + prefix.length && prefix.every((v, i) => b[at + i] === v);

/** A Microsoft GUID in its on-disk byte order (the first three fields little-endian). */
function guidBytes(guid: string): Uint8Array {
  const hex = guid.replace(/-/g, '');
  const raw = Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Uint8Array.from(order, (i) => raw[i] ?? 0);
}

/** A size Glance would store: a positive safe integer, else unknown. */
const sizeOrNull = (n: number) => (Number.isSafeInteger(n) && n > 0 ? n : null);

// ---------------------------------------------------------------------------------------------
// One probe per format; all of them look at every stream, which is how a mismatch is seen.

interface Verdict {
  match: boolean;
  virtualSize: number | null;
  issues: string[];
  subformat?: string;
  /** Signature found, structure invalid. */
  broken?: string;
}

const NO: Verdict = { match: false, virtualSize: null, issues: [] };

class Broken extends Error {}

abstract class Probe {
  abstract readonly name: string;
  protected readonly regions: Region[] = [];
  /** 'no' once the data cannot be this format; 'broken' once it has the signature but an invalid structure. */
  protected state: 'open' | 'no' | 'broken' | 'settled' = 'open';
  protected brokenReason = '';

  get held(): number {
    return this.regions.reduce((n, r) => n + r.held, 0);
  }

  /** Captures what this probe's regions want from a chunk starting at `start`, then lets the format read what it has. */
  feed(chunk: Uint8Array, start: number): void {
    if (this.state !== 'open') return;
    let first = 0;
    try {
      // A region added while reading may begin inside this very chunk: feed it the chunk too.
      for (;;) {
        const count = this.regions.length;
        for (let i = first; i < count; i++) this.regions[i]?.capture(chunk, start);
        if (this.state === 'open') this.step(start + chunk.length);
        if (this.regions.length === count || this.state !== 'open') break;
        first = count;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** The verdict once the stream has ended. */
  verdict(total: number, tail: Tail, declared: boolean): Verdict {
    if (this.state === 'no') return NO;
    if (this.state === 'broken') return { ...NO, broken: this.brokenReason };
    try {
      return this.conclude(total, tail, declared);
    } catch (e) {
      this.fail(e);
      return { ...NO, broken: this.brokenReason };
    }
  }

  protected region(offset: number, length: number): Region {
    const r = new Region(offset, length);
    for (const earlier of this.regions) r.seed(earlier);
    this.regions.push(r);
    return r;
  }

  protected broken(reason: string): never {
    throw new Broken(reason);
  }

  /** Reads what the regions hold after a chunk; `seen` is the stream position after it. */
  protected abstract step(seen: number): void;
  protected abstract conclude(total: number, tail: Tail, declared: boolean): Verdict;

  private fail(e: unknown): void {
    if (e instanceof Broken) {
      this.state = 'broken';
      this.brokenReason = e.message;
    } else {
      // A bug or a field we failed to bound: treated like upstream treats an inspector error,
      // as "not this format", never as an exception in the upload path.
      this.state = 'broken';
      this.brokenReason = `inspection failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

// qcow2 (docs/interop/qcow2.txt in qemu): big-endian header; magic, version at 4, backing file
// offset at 8, virtual size at 24; version 3 adds incompatible feature bits at 72 and the header
// length at 100.
class Qcow2Probe extends Probe {
  readonly name = 'qcow2';
  private readonly header = this.region(0, 104);
  private static readonly MAGIC = Uint8Array.of(0x51, 0x46, 0x49, 0xfb);

  protected step(): void {
    if (this.header.filled >= 4 && !startsWith(this.header.data, Qcow2Probe.MAGIC)) this.state = 'no';
    else if (this.header.complete) this.state = 'settled';
  }

  protected conclude(): Verdict {
    if (!startsWith(this.header.data, Qcow2Probe.MAGIC)) return NO;
    if (!this.header.complete) this.broken('truncated qcow2 header');
    const h = this.header.data;
    const version = u32be(h, 4);
    const issues: string[] = [];
    if (u64be(h, 8) !== 0) issues.push('backing_file: image has a backing file');
    if (version === 3) {
      const incompatible = view(h).getBigUint64(72, false);
      // Bit 2: the guest data lives in an external data file named in a header extension (OSSA-2024-001).
      if (incompatible & 0x4n) issues.push('data_file: image has an external data file');
      // Bits 0-3 are dirty, corrupt, external data file and compression type; upstream knows no others.
      if (incompatible & ~0xfn) issues.push('unknown_features: image has unknown incompatible features');
    } else if (version !== 2) {
      // COMPAT(glance): version 1 shares the magic; qemu calls it "qcow", upstream refuses it here.
      issues.push(`unknown_features: unsupported qcow2 version ${version}`);
    }
    // COMPAT(glance): upstream also reads the data-file bit of version 2 images, whose header ends
    // at byte 72; what it reads there is a header extension, so only version 3 is checked here.
    return { match: true, virtualSize: sizeOrNull(u64be(h, 24)), issues, subformat: `v${version}` };
  }
}

// QED: recognised only to be refused, as upstream does (no one runs it; it can have backing files).
class QedProbe extends Probe {
  readonly name = 'qed';
  private readonly header = this.region(0, 56);
  private static readonly MAGIC = ascii('QED\0');

  protected step(): void {
    if (this.header.filled >= 4 && !startsWith(this.header.data, QedProbe.MAGIC)) this.state = 'no';
    else if (this.header.complete) this.state = 'settled';
  }

  protected conclude(): Verdict {
    if (!startsWith(this.header.data, QedProbe.MAGIC)) return NO;
    const size = this.header.complete ? u64le(this.header.data, 48) : 0;
    return { match: true, virtualSize: sizeOrNull(size), issues: ['banned: the qed format is not allowed'] };
  }
}

// VHD (Virtual PC): a 512-byte big-endian footer, at the start of dynamic and differencing disks
// (a copy) and only at the end of fixed ones. Disk type at 60, creator application at 28,
// original size at 40, current size at 48, CHS geometry at 56.
class VhdProbe extends Probe {
  readonly name = 'vhd';
  private readonly head = this.region(0, 512);
  private static readonly COOKIE = ascii('conectix');
  // qemu's vpc driver trusts the footer's current size only for these creators (and for the
  // maximum geometry); Virtual PC and qemu's own default images are sized by CHS.
  private static readonly SIZE_FROM_CURRENT = ['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0'];

  protected step(): void {
    // Not 'no' on a mismatch: a fixed disk's footer is at the end, read at the close.
    if (this.head.complete) this.state = 'settled';
  }

  protected conclude(_total: number, tail: Tail, declared: boolean): Verdict {
    let footer: Uint8Array | null = null;
    if (startsWith(this.head.data, VhdProbe.COOKIE)) {
      if (!this.head.complete) this.broken('truncated vhd footer');
      footer = this.head.data;
    } else if (declared) {
      // COMPAT(glance): upstream reads only the start of the file, so a fixed VHD never matches
      // there (Zed leaves virtual_size unset; master refuses the upload as raw data). qemu reads
      // the footer at the end, and so does this. Only when vhd was declared, though: qemu never
      // probes a fixed VHD either, so undeclared it is raw data that happens to end in a footer.
      const end = tail.last(512);
      if (end && startsWith(end, VhdProbe.COOKIE)) footer = end;
    }
    if (!footer) return NO;
    const type = u32be(footer, 60);
    const subformat = VHD_TYPES.get(type);
    if (!subformat) this.broken(`unknown vhd disk type ${type}`);
    const creator = String.fromCharCode(...footer.subarray(28, 32));
    const chs = view(footer).getUint16(56, false) * (footer[58] ?? 0) * (footer[59] ?? 0);
    // COMPAT(glance): upstream takes the original size (offset 40); qemu, and so this, the
    // current size or the geometry. The two agree on every image qemu-img writes.
    const useCurrent = VhdProbe.SIZE_FROM_CURRENT.includes(creator) || chs === 65535 * 16 * 255;
    const size = useCurrent ? u64be(footer, 48) : chs * 512;
    const issues = type === 4 ? ['parent: differencing vhd refers to a parent image'] : [];
    return { match: true, virtualSize: sizeOrNull(size), issues, subformat };
  }
}

const VHD_TYPES = new Map([[2, 'fixed'], [3, 'dynamic'], [4, 'differencing']]);

// VHDX (MS-VHDX): little-endian. "vhdxfile" at 0; the region table at 192 KiB ('regi', entry
// count at 8, 32-byte entries from 16: GUID, file offset, length); the metadata region starts
// with a table ('metadata', entry count at 10, 32-byte entries from 32: item GUID, offset from
// the region start, length), and the Virtual Disk Size item is a uint64.
class VhdxProbe extends Probe {
  readonly name = 'vhdx';
  private static readonly IDENT = ascii('vhdxfile');
  private static readonly METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
  private static readonly VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
  private static readonly TABLE_MAX = 64 * 1024;
  private readonly ident = this.region(0, 8);
  private readonly table = this.region(192 * 1024, VhdxProbe.TABLE_MAX);
  private metadata: Region | null = null;
  private vds: Region | null = null;

  protected step(): void {
    if (this.ident.complete && !startsWith(this.ident.data, VhdxProbe.IDENT)) {
      this.state = 'no';
      return;
    }
    if (this.table.complete && !this.metadata) this.metadata = this.findMetadataRegion();
    if (this.metadata && !this.vds) this.vds = this.findSizeItem(this.metadata);
    if (this.vds?.complete) this.state = 'settled';
  }

  private findMetadataRegion(): Region {
    const t = this.table.data;
    if (!startsWith(t, ascii('regi'))) this.broken('vhdx region table signature not found');
    const count = u32le(t, 8);
    if (count > 2047) this.broken(`vhdx region table has ${count} entries (limit 2047)`);
    for (let i = 0; i < count; i++) {
      const entry = t.subarray(16 + i * 32, 48 + i * 32);
      if (!startsWith(entry, VhdxProbe.METADATA_REGION)) continue;
      const offset = u64le(entry, 16);
      // The spec puts every region past the 1 MiB header section; one inside it would have
      // streamed by before the region table pointing to it was read.
      if (offset < 1024 * 1024) this.broken('vhdx metadata region inside the header section');
      // Only the table is kept (one header and up to 2047 entries), not the whole region.
      return this.region(offset, Math.min(VhdxProbe.TABLE_MAX, u32le(entry, 24)));
    }
    this.broken('vhdx has no metadata region');
  }

  private findSizeItem(metadata: Region): Region | null {
    const m = metadata.data;
    if (m.length < 32) return null;
    if (!startsWith(m, ascii('metadata'))) this.broken('vhdx metadata table signature not found');
    const count = u16le(m, 10);
    if (count > 2047) this.broken(`vhdx metadata table has ${count} entries (limit 2047)`);
    if (32 + count * 32 > metadata.length) this.broken('vhdx metadata table larger than its region');
    if (m.length < 32 + count * 32) return null;
    for (let i = 0; i < count; i++) {
      const entry = m.subarray(32 + i * 32, 64 + i * 32);
      if (!startsWith(entry, VhdxProbe.VIRTUAL_DISK_SIZE)) continue;
      if (u32le(entry, 20) !== 8) this.broken('vhdx virtual disk size item is not 8 bytes');
      return this.region(metadata.offset + u32le(entry, 16), 8);
    }
    this.broken('vhdx has no virtual disk size item');
  }

  protected conclude(): Verdict {
    if (!startsWith(this.ident.data, VhdxProbe.IDENT)) return NO;
    if (!this.vds?.complete) this.broken('vhdx ended before its virtual disk size');
    return { match: true, virtualSize: sizeOrNull(u64le(this.vds.data, 0)), issues: [] };
  }
}

// VMDK: either a hosted sparse extent (512-byte little-endian header "KDMV": version at 4,
// capacity in sectors at 12, descriptor sector and sector count at 28 and 36, grain directory
// offset at 56; the text descriptor follows at sector 1) or a descriptor-only text file whose
// extents are other files. streamOptimized images may put the grain directory in a footer
// (gd offset all ones): the last 1536 bytes are then a footer marker, a copy of the header with
// the real offsets, and an end-of-stream marker.
class VmdkProbe extends Probe {
  readonly name = 'vmdk';
  private readonly header = this.region(0, 512);
  private descriptor: Region | null = null;
  private sparse = false;
  private textChecked = 0;

  protected step(seen: number): void {
    const h = this.header.data;
    if (!this.descriptor) {
      if (h.length < 4) return;
      if (startsWith(h, VMDK_MAGIC)) {
        if (this.header.complete) this.openSparse();
        return;
      }
      // A descriptor file is plain text: one byte outside that and this is no VMDK.
      for (; this.textChecked < h.length; this.textChecked++) {
        if (!isText(h[this.textChecked] ?? 0)) {
          this.state = 'no';
          return;
        }
      }
      if (this.header.complete) this.descriptor = this.region(0, VMDK_DESCRIPTOR_MAX);
      return;
    }
    if (this.descriptor.complete || seen >= this.descriptor.offset + this.descriptor.length) this.state = 'settled';
  }

  private openSparse(): void {
    this.sparse = true;
    const h = this.header.data;
    const version = u32le(h, 4);
    if (version < 1 || version > 3) this.broken(`unsupported vmdk version ${version}`);
    // qemu looks for the embedded descriptor at sector 1 only; so does upstream.
    if (u64le(h, 28) !== 1) this.broken('vmdk descriptor not at sector 1');
    this.descriptor = this.region(512, Math.min(u64le(h, 36) * 512, VMDK_DESCRIPTOR_MAX));
  }

  protected conclude(_total: number, tail: Tail): Verdict {
    const h = this.header.data;
    if (!this.sparse) {
      // The file ended before 512 bytes: a short descriptor file, if it is text at all.
      if (startsWith(h, VMDK_MAGIC)) this.broken('truncated vmdk header');
      if (!this.descriptor) {
        if (h.length < 4 || !h.every(isText)) return NO;
        this.descriptor = this.region(0, h.length);
      }
    }
    const desc = parseDescriptor(this.descriptor?.data ?? new Uint8Array());
    // Upstream counts a text file as a VMDK only once it names a createType.
    if (!this.sparse && desc.createType === null) return NO;
    const issues = [...desc.issues];
    let capacity = u64le(h, 12);
    if (this.sparse && gdAtEnd(h)) {
      const footer = tail.last(1536);
      const problem = footer ? checkVmdkFooter(h, footer) : 'no footer';
      if (problem) issues.push(`footer: ${problem}`);
      // qemu takes the whole header from the footer copy in this case, capacity included.
      else if (footer) capacity = u64le(footer, 512 + 12);
    }
    if (!this.sparse) {
      // COMPAT(glance): upstream's own check lets a descriptor-only file through when it claims a
      // sparse createType and its extent names have no '/'; qemu would still open those extents
      // beside the image. A descriptor-only file always points outside itself: refused here.
      issues.push('descriptor: descriptor-only vmdk refers to separate extent files');
    }
    const sparseType = desc.createType === 'monolithicsparse' || desc.createType === 'streamoptimized';
    // Zed and master both leave the size unknown for any other createType (and for descriptor files).
    const virtualSize = this.sparse && sparseType ? sizeOrNull(capacity * 512) : null;
    return { match: true, virtualSize, issues, subformat: desc.createTypeAsWritten ?? undefined };
  }
}

const VMDK_MAGIC = ascii('KDMV');
/** A grain directory offset of all ones: the real one is in the footer. */
const gdAtEnd = (header: Uint8Array) => view(header).getBigUint64(56, true) === 0xffffffffffffffffn;

/** Printable ASCII or whitespace, which is all a VMDK descriptor may hold. */
const isText = (c: number) => (c >= 0x20 && c < 0x7f) || (c >= 0x09 && c <= 0x0d);

interface Descriptor {
  createType: string | null;
  createTypeAsWritten: string | null;
  issues: string[];
}

/**
 * Upstream's cautious reading of a VMDK descriptor: every line must be a comment, a ddb entry, a
 * `key=value` header field or an extent (RW, RDONLY, NOACCESS); an extent naming a path with '/'
 * or no extent at all is refused, and so is any createType but the two single-file sparse ones.
 */
function parseDescriptor(raw: Uint8Array): Descriptor {
  const nul = raw.indexOf(0);
  const bytes = nul >= 0 ? raw.subarray(0, nul) : raw;
  if (bytes.length === 0) return { createType: null, createTypeAsWritten: null, issues: ['descriptor: no descriptor found'] };
  if (!bytes.every((c) => c < 0x80)) return { createType: null, createTypeAsWritten: null, issues: ['descriptor: descriptor is not ASCII'] };
  const text = String.fromCharCode(...bytes);
  const found = /createType="([^"]{0,63})"/i.exec(text);
  const written = found?.[1] ?? null;
  const createType = written?.toLowerCase() ?? null;
  const issues: string[] = [];
  if (createType !== 'monolithicsparse' && createType !== 'streamoptimized') {
    issues.push(`descriptor: unsupported vmdk subformat ${written ?? '(none)'}`);
  }
  let extents = 0;
  for (const line of text.toLowerCase().split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#') || line.startsWith('ddb')) continue;
    const eq = line.indexOf('=');
    if (eq >= 0 && !line.slice(0, eq).includes(' ')) continue;
    if (['rw', 'rdonly', 'noaccess'].includes(line.split(' ')[0] ?? '')) {
      extents++;
      if (line.includes('/')) issues.push('descriptor: extent names another path');
      continue;
    }
    issues.push('descriptor: invalid vmdk descriptor line');
    break;
  }
  if (extents === 0) issues.push('descriptor: no extents');
  return { createType, createTypeAsWritten: written, issues: [...new Set(issues)] };
}

/** What qemu and upstream require of a streamOptimized footer; null when it is sound. */
function checkVmdkFooter(header: Uint8Array, footer: Uint8Array): string | null {
  const copy = footer.subarray(512, 1024);
  const zeros = (b: Uint8Array) => b.every((c) => c === 0);
  if (!startsWith(copy, VMDK_MAGIC)) return 'footer has no KDMV header copy';
  if (u32le(copy, 4) !== u32le(header, 4)) return 'header and footer versions differ';
  if (u64le(copy, 28) !== u64le(header, 28) || u64le(copy, 36) !== u64le(header, 36)) return 'footer names another descriptor';
  if (gdAtEnd(copy)) return 'footer points to another footer';
  // A marker: sector value (u64), size (u32), type (u32: 3 footer, 0 end of stream), zero padding.
  if (u32le(footer, 8) !== 0 || u32le(footer, 12) !== 3 || !zeros(footer.subarray(16, 512))) return 'invalid footer marker';
  if (!zeros(footer.subarray(1024, 1536))) return 'invalid end-of-stream marker';
  return null;
}

// VDI (VirtualBox): little-endian 512-byte header after a 64-byte text banner; signature at
// 0x40, image type at 0x4c, disk size in bytes at 0x170.
const VDI_TYPES = new Map([[1, 'dynamic'], [2, 'static'], [3, 'undo'], [4, 'differencing']]);

class VdiProbe extends Probe {
  readonly name = 'vdi';
  private readonly header = this.region(0, 0x178);
  private static readonly SIGNATURE = 0xbeda107f;

  protected step(): void {
    if (this.header.filled >= 0x44 && u32le(this.header.data, 0x40) !== VdiProbe.SIGNATURE) this.state = 'no';
    else if (this.header.complete) this.state = 'settled';
  }

  protected conclude(): Verdict {
    const h = this.header.data;
    if (h.length < 0x44 || u32le(h, 0x40) !== VdiProbe.SIGNATURE) return NO;
    if (!this.header.complete) this.broken('truncated vdi header');
    const subformat = VDI_TYPES.get(u32le(h, 0x4c));
    return { match: true, virtualSize: sizeOrNull(u64le(h, 0x170)), issues: [], subformat };
  }
}

// ISO 9660: 32 KiB of system area, then volume descriptors of 2 KiB; the primary one (type 1,
// "CD001") holds the volume space size (both-endian u32 at 80) and logical block size
// (both-endian u16 at 128). UDF's NSR descriptors count as a match too, as upstream has it.
class IsoProbe extends Probe {
  readonly name = 'iso';
  private readonly descriptor = this.region(32 * 1024, 2048);
  private static readonly IDS = ['CD001', 'NSR02', 'NSR03'].map(ascii);

  private get identified(): boolean {
    return IsoProbe.IDS.some((id) => startsWith(this.descriptor.data, id, 1));
  }

  protected step(): void {
    if (this.descriptor.filled >= 6 && !this.identified) this.state = 'no';
    else if (this.descriptor.complete) this.state = 'settled';
  }

  protected conclude(): Verdict {
    // COMPAT(glance zed): Zed has no iso inspector and leaves virtual_size unset; master reads it from here.
    if (!this.descriptor.complete || !this.identified) return NO;
    const d = this.descriptor.data;
    const size = d[0] === 1 ? u32le(d, 80) * u16le(d, 128) : 0;
    return { match: true, virtualSize: sizeOrNull(size), issues: [] };
  }
}

// ---------------------------------------------------------------------------------------------

class StreamInspector implements FormatInspector {
  private readonly declared: string;
  private readonly probes: Probe[] = [new Qcow2Probe(), new QedProbe(), new VhdProbe(), new VhdxProbe(), new VmdkProbe(), new VdiProbe(), new IsoProbe()];
  private readonly tail = new Tail();
  private seen = 0;
  private result: InspectionResult | null = null;

  constructor(declared: string) {
    this.declared = declared;
  }

  get heldBytes(): number {
    return this.tail.held + this.probes.reduce((n, p) => n + p.held, 0);
  }

  feed(chunk: Uint8Array): void {
    if (this.result) throw new Error('format inspector: feed after finish');
    if (chunk.length === 0) return;
    for (const p of this.probes) p.feed(chunk, this.seen);
    this.tail.push(chunk);
    this.seen += chunk.length;
  }

  finish(totalBytes?: number): InspectionResult {
    if (this.result) return this.result;
    if (totalBytes !== undefined && totalBytes !== this.seen) {
      throw new RangeError(`format inspector: fed ${this.seen} bytes, told ${totalBytes}`);
    }
    const verdicts = new Map(this.probes.map((p) => [p.name, p.verdict(this.seen, this.tail, p.name === this.declared)]));
    this.result = decide(this.declared, verdicts, this.seen);
    return this.result;
  }
}

/** Glance master's decision (glance/location.py set_data) over what each format's probe found. */
function decide(declared: string, verdicts: Map<string, Verdict>, size: number): InspectionResult {
  const matched = [...verdicts].filter(([, v]) => v.match);
  const detected = matched.length === 0 ? 'raw' : matched.map(([n]) => n).join('+');
  const only = matched.length === 1 ? matched[0]?.[1] : undefined;
  const own = verdicts.get(declared);
  const base = { detected, size, safetyIssues: only?.issues ?? [], subformat: only?.subformat };
  const failedChecks = (issues: string[]) => (issues.length > 0 ? 'Image failed safety checks' : null);
  const mismatch = `Image disk_format ${declared} does not match stream data ${detected}`;
  const multiple = matched.length > 1 ? `Multiple formats detected: ${matched.map(([n]) => n).join(',')}` : null;

  if (declared === 'raw') {
    // Master lets data declared raw through whatever it is, sized by its bytes, unless what it
    // really is fails that format's checks. Zed records the byte count too.
    return { ...base, virtualSize: sizeOrNull(size), formatMatches: matched.length === 0, rejection: multiple ?? failedChecks(base.safetyIssues) };
  }
  if (!own) {
    // ami, aki, ari, ploop: nothing to read; master still refuses data that is a known format.
    return { ...base, virtualSize: null, formatMatches: matched.length === 0 ? null : false, rejection: matched.length === 0 ? null : (multiple ?? mismatch) };
  }
  const formatError = own.broken;
  if (matched.length === 1 && only === own) {
    return { ...base, formatError, virtualSize: own.virtualSize, formatMatches: true, rejection: failedChecks(own.issues) };
  }
  return { ...base, formatError, virtualSize: null, formatMatches: false, rejection: multiple ?? mismatch };
}
