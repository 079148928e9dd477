// Multipart part sizing. S3 allows at most 10,000 parts of 5 MiB..5 GiB (the last may be smaller), and objects up to
// 5 TiB. A fixed 8 MiB part caps an upload at 78 GiB, and a part large enough for 5 TiB (525 MiB) would make every
// small upload buffer that much. So the part size doubles every PARTS_PER_TIER parts: small files use the configured
// size, and 10,000 parts still reach 5 TiB even from the 5 MiB minimum (see the table in docs/storage.md).

export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
export const PARTS_PER_TIER = 900;

/** Size of part `n` (1-based) for a configured base size. Throws RangeError outside 1..MAX_PARTS. */
export function partSize(base: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PARTS) throw new RangeError(`part number ${n} out of range`);
  return Math.min(MAX_PART_BYTES, base * 2 ** Math.floor((n - 1) / PARTS_PER_TIER));
}

/** Offset of the first byte of part `n`. */
export function partStart(base: number, n: number): number {
  let start = 0;
  let done = 1;
  while (done < n) {
    const tierEnd = Math.min(n, Math.floor((done - 1) / PARTS_PER_TIER + 1) * PARTS_PER_TIER + 1);
    start += (tierEnd - done) * partSize(base, done);
    done = tierEnd;
  }
  return start;
}

/** The part (1-based) holding byte `offset`; MAX_PARTS + 1 when the offset is past what 10,000 parts can hold. */
export function partAt(base: number, offset: number): number {
  let n = 1;
  let start = 0;
  while (n <= MAX_PARTS) {
    const size = partSize(base, n);
    const tierLeft = PARTS_PER_TIER - ((n - 1) % PARTS_PER_TIER);
    const count = Math.min(tierLeft, MAX_PARTS - n + 1);
    if (offset < start + count * size) return n + Math.floor((offset - start) / size);
    start += count * size;
    n += count;
  }
  return MAX_PARTS + 1;
}

/** Validates a configured base part size. */
export function checkPartSize(base: number): void {
  if (!Number.isSafeInteger(base) || base < MIN_PART_BYTES || base > MAX_PART_BYTES) {
    throw new RangeError(`part size ${base} must be an integer between 5 MiB and 5 GiB`);
  }
}
