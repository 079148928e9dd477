// The pure half of an upload: SFTP WRITEs (offset + bytes, possibly out of order) become S3 multipart parts. No I/O,
// no budget, no time: the multipart driver (upload-sink.ts) takes the budget, and sends the parts this assembler
// seals. Everything here is synchronous and unit-tested by a table.
//
// Memory grows with the data: a part is a row of fixed-size slabs, each taken from the slab source when the first
// byte for it arrives (`missingSlabs` tells the driver how many a write needs, so it can take their budget first). A
// sealed part is sent from its slabs as they are (the S3 client writes a list of buffers; nothing is joined or
// copied), and its slabs go back to the pool once S3 answered.
//
// Ordering: bytes before the current (lowest unsent) part were sent to S3 and can't be rewritten; a write reaching
// more than REORDER_WINDOW_PARTS parts past the current one, overlapping bytes already received, or splitting a part
// into more than `maxRangesPerPart` received ranges fails with INVALID_WRITE before anything changes; at `finish()`
// (commit) a gap fails.

import { StorageError, StorageErrorCode } from './errors.ts';
import { MAX_OBJECT_BYTES, MAX_PARTS, partAt, partSize, partStart } from './part-size.ts';
import { RangeSet } from './range-set.ts';

/** How many parts past the current one a write may reach (out-of-order writes from pipelining clients). */
export const REORDER_WINDOW_PARTS = 2;
/** Received ranges one part may be split into; a client needs far fewer (OpenSSH reorders a few dozen writes). */
export const MAX_RANGES_PER_PART = 1024;

/** Fixed-size slabs (the pod's buffer pool, or plain allocation). */
export interface SlabSource {
  readonly slabBytes: number;
  /** A slab of exactly `slabBytes`; contents unspecified. */
  take(): Buffer;
  /** Returns a slab nobody reads any more. */
  give(buf: Buffer): void;
}

export interface PartAssemblerOptions {
  readonly basePartSize: number;
  readonly slabs: SlabSource;
  /** Client-safe description for messages ("upload \"f\"" style). */
  readonly what: string;
  readonly maxRangesPerPart?: number;
  /** Continue an interrupted upload: parts before this one are already in S3 (resume-sink.ts). Default 1. */
  readonly startPart?: number;
}

/** The piece of one write that falls into part `n`: part-relative [from, to), starting at `dataFrom` in the data. */
export interface Slice {
  readonly n: number;
  readonly from: number;
  readonly to: number;
  readonly dataFrom: number;
}

/** A part ready to send: `body` is views of the bytes received, `slabs` the buffers holding them (give them back after S3). */
export interface SealedPart {
  readonly n: number;
  /** The part's size (what the driver reserved for it). */
  readonly size: number;
  /** The part's bytes in order, as views of its slabs. */
  readonly body: readonly Buffer[];
  /** Bytes in `body`. */
  readonly bytes: number;
  readonly slabs: readonly Buffer[];
  /** Slab bytes the part holds, all of them until S3 answers. */
  readonly slabBytes: number;
}

/** A part dropped unsent (failure, abort): its slabs went back to the source. */
export interface DrainedPart {
  readonly n: number;
  readonly size: number;
  readonly slabBytes: number;
  readonly filled: number;
}

interface OpenPart {
  readonly n: number;
  readonly start: number;
  readonly size: number;
  readonly slabs: (Buffer | undefined)[];
  slabCount: number;
  readonly ranges: RangeSet;
  filled: number;
}

export class PartAssembler {
  readonly #o: PartAssemblerOptions;
  readonly #maxRanges: number;
  readonly #parts = new Map<number, OpenPart>();
  #current = 1;
  #end = 0;

  constructor(options: PartAssemblerOptions) {
    this.#o = options;
    this.#maxRanges = options.maxRangesPerPart ?? MAX_RANGES_PER_PART;
    if (options.startPart !== undefined) {
      this.#current = options.startPart;
      this.#end = partStart(options.basePartSize, options.startPart);
    }
  }

  /** The lowest part not yet sealed. */
  get current(): number {
    return this.#current;
  }

  /** One past the highest byte received (the file size so far). */
  get end(): number {
    return this.#end;
  }

  /** Parts holding a buffer (received into, not sealed). */
  get openParts(): number {
    return this.#parts.size;
  }

  /** Bytes a part needs (its size); the driver reserves this before `open`. */
  partSize(n: number): number {
    return partSize(this.#o.basePartSize, n);
  }

  has(n: number): boolean {
    return this.#parts.has(n);
  }

  /**
   * Checks a write and splits it into per-part slices, in part order. Changes nothing; throws INVALID_WRITE (invalid
   * offset, past 5 TiB or 10,000 parts, before the current part, beyond the reorder window, overlap, too many ranges).
   * An empty write yields no slices.
   */
  plan(offset: number, length: number): Slice[] {
    const { what, basePartSize: base } = this.#o;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidWrite(`${what}: invalid offset ${offset}`);
    if (length === 0) return [];
    const end = offset + length;
    if (end > MAX_OBJECT_BYTES) throw invalidWrite(`${what}: write past the 5 TiB S3 object limit`);
    const currentStart = partStart(base, this.#current);
    if (offset < currentStart) {
      throw invalidWrite(
        `${what}: write at offset ${offset} overlaps bytes already sent to S3 (before ${currentStart})`,
      );
    }
    const first = partAt(base, offset);
    const last = partAt(base, end - 1);
    if (last > MAX_PARTS) throw invalidWrite(`${what}: write past what 10,000 multipart parts can hold`);
    if (last > this.#current + REORDER_WINDOW_PARTS) {
      const windowEnd = partStart(base, this.#current + REORDER_WINDOW_PARTS + 1);
      throw invalidWrite(
        `${what}: write at offset ${offset} is beyond the reorder window (bytes ${currentStart}..${windowEnd - 1}); ` +
          'writes must arrive nearly in order',
      );
    }
    const slices: Slice[] = [];
    for (let n = first; n <= last; n++) {
      const start = partStart(base, n);
      const from = Math.max(offset, start) - start;
      const to = Math.min(end, start + partSize(base, n)) - start;
      const part = this.#parts.get(n);
      if (part?.ranges.overlaps(from, to)) {
        throw invalidWrite(`${what}: write at offset ${offset} overlaps bytes already received`);
      }
      if (part !== undefined && part.ranges.sizeAfterAdd(from, to) > this.#maxRanges) {
        throw invalidWrite(
          `${what}: write at offset ${offset} would leave more than ${this.#maxRanges} separate pieces in one part; ` +
            'writes must arrive nearly in order',
        );
      }
      slices.push({ n, from, to, dataFrom: start + from - offset });
    }
    return slices;
  }

  /** Opens part `n` (no memory yet). Throws RangeError if it is open or sealed (a driver bug). */
  open(n: number): void {
    const size = this.partSize(n);
    if (this.#parts.has(n) || n < this.#current) throw new RangeError(`part ${n} is already open or sealed`);
    const slabs = new Array<Buffer | undefined>(Math.ceil(size / this.#o.slabs.slabBytes)).fill(undefined);
    this.#parts.set(n, {
      n,
      start: partStart(this.#o.basePartSize, n),
      size,
      slabs,
      slabCount: 0,
      ranges: new RangeSet(),
      filled: 0,
    });
  }

  /** Slabs `put(slice)` will take (those of the slice's range not allocated yet; all of them for an unopened part). */
  missingSlabs(slice: Slice): number {
    const S = this.#o.slabs.slabBytes;
    const part = this.#parts.get(slice.n);
    let missing = 0;
    for (let i = Math.floor(slice.from / S); i * S < slice.to; i++) if (part?.slabs[i] === undefined) missing++;
    return missing;
  }

  /**
   * Copies a slice of `data` (the whole write's bytes) into its open part, taking the slabs it needs, and returns the
   * parts now sealed: every full part at the front, in order. Throws RangeError when the part is not open.
   */
  put(slice: Slice, data: Uint8Array): SealedPart[] {
    const part = this.#parts.get(slice.n);
    if (part === undefined) throw new RangeError(`part ${slice.n} is not open`);
    const S = this.#o.slabs.slabBytes;
    for (let pos = slice.from; pos < slice.to; ) {
      const i = Math.floor(pos / S);
      let slab = part.slabs[i];
      if (slab === undefined) {
        slab = this.#o.slabs.take();
        part.slabs[i] = slab;
        part.slabCount++;
      }
      const end = Math.min(slice.to, (i + 1) * S);
      slab.set(data.subarray(slice.dataFrom + pos - slice.from, slice.dataFrom + end - slice.from), pos - i * S);
      pos = end;
    }
    const len = slice.to - slice.from;
    part.ranges.add(slice.from, slice.to);
    part.filled += len;
    if (part.start + slice.to > this.#end) this.#end = part.start + slice.to;
    const sealed: SealedPart[] = [];
    for (let p = this.#parts.get(this.#current); p !== undefined && p.filled === p.size; ) {
      sealed.push(this.#seal(p));
      p = this.#parts.get(this.#current);
    }
    return sealed;
  }

  /**
   * The end of the upload: throws INVALID_WRITE at the first hole (changing nothing), else seals and returns every
   * remaining part in order (the last one short). No parts and `current === 1` means an empty file.
   */
  finish(): SealedPart[] {
    const { basePartSize: base, what } = this.#o;
    for (let n = this.#current; partStart(base, n) < this.#end; n++) {
      const start = partStart(base, n);
      const expected = Math.min(partSize(base, n), this.#end - start);
      const first = this.#parts.get(n)?.ranges.first();
      if (first === undefined || first[0] !== 0) throw hole(what, start);
      if (first[1] !== expected) throw hole(what, start + first[1]);
    }
    const sealed: SealedPart[] = [];
    for (let p = this.#parts.get(this.#current); p !== undefined; p = this.#parts.get(this.#current)) {
      sealed.push(this.#seal(p));
    }
    return sealed;
  }

  /** Removes every open part without sealing (failure or abort); its slabs go back to the source. */
  drain(): DrainedPart[] {
    const parts = [...this.#parts.values()].map((p) => {
      for (const slab of p.slabs) if (slab !== undefined) this.#o.slabs.give(slab);
      return { n: p.n, size: p.size, slabBytes: p.slabCount * this.#o.slabs.slabBytes, filled: p.filled };
    });
    this.#parts.clear();
    return parts;
  }

  /** Bytes of slabs held by open parts. */
  get slabBytes(): number {
    let n = 0;
    for (const p of this.#parts.values()) n += p.slabCount;
    return n * this.#o.slabs.slabBytes;
  }

  #seal(p: OpenPart): SealedPart {
    this.#parts.delete(p.n);
    this.#current = p.n + 1;
    const S = this.#o.slabs.slabBytes;
    const body: Buffer[] = [];
    const slabs: Buffer[] = [];
    for (const [i, slab] of p.slabs.entries()) {
      if (slab === undefined) continue; // only past the end of a short last part (finish() checked for holes)
      slabs.push(slab);
      const len = Math.min(S, p.filled - i * S);
      if (len > 0) body.push(len === S ? slab : slab.subarray(0, len));
    }
    return { n: p.n, size: p.size, body, bytes: p.filled, slabs, slabBytes: p.slabCount * S };
  }
}

function invalidWrite(message: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidWrite, message);
}

function hole(what: string, offset: number): StorageError {
  return invalidWrite(`${what}: no data was written at offset ${offset} (a hole); the file was not stored`);
}
