// Received byte ranges of one part: sorted, disjoint, merged when adjacent, half-open [start, end). Lookups are binary
// searches (O(log n)); an insert moves at most `size` entries, and the assembler caps `size` per part, so a client
// sending 1-byte writes at alternating offsets costs O(log n) per write instead of the O(n log n) sort per write the
// first version did (~125 s of CPU for ~3 MB of such writes).

export class RangeSet {
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  /** Disjoint ranges held. */
  get size(): number {
    return this.#starts.length;
  }

  /** The first range, or undefined when empty. */
  first(): readonly [number, number] | undefined {
    const s = this.#starts[0];
    const e = this.#ends[0];
    return s === undefined || e === undefined ? undefined : [s, e];
  }

  /** Does [s, e) share a byte with a held range? */
  overlaps(s: number, e: number): boolean {
    const i = this.#firstEndAbove(s);
    return i < this.#starts.length && (this.#starts[i] as number) < e;
  }

  /** How many ranges there would be after `add(s, e)` (which must not overlap). */
  sizeAfterAdd(s: number, e: number): number {
    const { left, right } = this.#neighbours(s, e);
    return this.#starts.length + 1 - (left ? 1 : 0) - (right ? 1 : 0);
  }

  /** Adds [s, e), merging with adjacent ranges. The caller checked `overlaps` first; an empty range is ignored. */
  add(s: number, e: number): void {
    if (e <= s) return;
    const { i, left, right } = this.#neighbours(s, e);
    if (left && right) {
      this.#ends[i] = this.#ends[i + 1] as number;
      this.#starts.splice(i + 1, 1);
      this.#ends.splice(i + 1, 1);
    } else if (left) {
      this.#ends[i] = e;
    } else if (right) {
      this.#starts[i] = s;
    } else {
      this.#starts.splice(i, 0, s);
      this.#ends.splice(i, 0, e);
    }
  }

  /**
   * `i`: the first range ending at or after `s`. `left`: that range ends exactly at `s` (merges on the left); `right`:
   * the range after the insertion point starts exactly at `e` (merges on the right).
   */
  #neighbours(s: number, e: number): { i: number; left: boolean; right: boolean } {
    const i = this.#firstEndAtLeast(s);
    const left = i < this.#ends.length && this.#ends[i] === s;
    const r = left ? i + 1 : i;
    const right = r < this.#starts.length && this.#starts[r] === e;
    return { i, left, right };
  }

  /** Index of the first range whose end is > x (ends are sorted because ranges are disjoint and sorted). */
  #firstEndAbove(x: number): number {
    let lo = 0;
    let hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ends[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the first range whose end is >= x. */
  #firstEndAtLeast(x: number): number {
    let lo = 0;
    let hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ends[mid] as number) >= x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
