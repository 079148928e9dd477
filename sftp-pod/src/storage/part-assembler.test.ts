// Table-driven tests of the pure part assembler, with tiny parts (10 bytes) so every case is readable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { PartAssembler, type SealedPart, type SlabSource } from './part-assembler.ts';
import { MAX_OBJECT_BYTES } from './part-size.ts';

const BASE = 10;

/** Slabs of 4 bytes (a 10-byte part is three slabs), counted so tests see what is taken and given back. */
function slabSource(slabBytes = 4): SlabSource & { out: number } {
  const src = {
    slabBytes,
    out: 0,
    take() {
      src.out++;
      return Buffer.alloc(slabBytes, 0x2e);
    },
    give() {
      src.out--;
    },
  };
  return src;
}

type Op = readonly [offset: number, text: string];

/** Runs writes the way the driver does (open missing parts, put slices); returns sealed parts as strings. */
function run(asm: PartAssembler, writes: readonly Op[]): string[] {
  const sealed: string[] = [];
  for (const [offset, text] of writes) {
    const data = Buffer.from(text);
    for (const slice of asm.plan(offset, data.length)) {
      if (!asm.has(slice.n)) asm.open(slice.n);
      for (const p of asm.put(slice, data)) sealed.push(show(p));
    }
  }
  return sealed;
}

const show = (p: SealedPart) => `${p.n}:${Buffer.concat(p.body).toString()}`;
const make = (maxRangesPerPart?: number, slabs: SlabSource = slabSource()) =>
  new PartAssembler({
    basePartSize: BASE,
    what: 'upload "f"',
    slabs,
    ...(maxRangesPerPart ? { maxRangesPerPart } : {}),
  });

describe('PartAssembler: accepted writes', () => {
  const cases: { name: string; writes: Op[]; sealed: string[]; finish: string[]; end: number }[] = [
    { name: 'empty file', writes: [], sealed: [], finish: [], end: 0 },
    { name: 'one short write', writes: [[0, 'abc']], sealed: [], finish: ['1:abc'], end: 3 },
    { name: 'exactly one part', writes: [[0, '0123456789']], sealed: ['1:0123456789'], finish: [], end: 10 },
    {
      name: 'a write straddling parts seals the first',
      writes: [[0, '0123456789ab']],
      sealed: ['1:0123456789'],
      finish: ['2:ab'],
      end: 12,
    },
    {
      name: 'one write over three parts',
      writes: [[0, 'abcdefghijKLMNOPQRSTuv']],
      sealed: ['1:abcdefghij', '2:KLMNOPQRST'],
      finish: ['3:uv'],
      end: 22,
    },
    {
      name: 'second part first, then the first: both seal in order',
      writes: [
        [10, 'KLMNOPQRST'],
        [0, 'abcdefghij'],
      ],
      sealed: ['1:abcdefghij', '2:KLMNOPQRST'],
      finish: [],
      end: 20,
    },
    {
      name: 'out of order within a part',
      writes: [
        [5, 'fghij'],
        [0, 'abcde'],
        [10, 'k'],
      ],
      sealed: ['1:abcdefghij'],
      finish: ['2:k'],
      end: 11,
    },
    {
      name: 'the window reaches two parts past the current one',
      writes: [
        [29, 'z'],
        [0, 'abcdefghij'],
        [10, 'klmnopqrst'],
        [20, 'uvwxyzABC'],
      ],
      sealed: ['1:abcdefghij', '2:klmnopqrst', '3:uvwxyzABCz'],
      finish: [],
      end: 30,
    },
    { name: 'empty write changes nothing', writes: [[5, '']], sealed: [], finish: [], end: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const asm = make();
      assert.deepEqual(run(asm, c.writes), c.sealed);
      assert.equal(asm.end, c.end);
      assert.deepEqual(asm.finish().map(show), c.finish);
      assert.equal(asm.openParts, 0);
    });
  }
});

describe('PartAssembler: refused writes change nothing', () => {
  const cases: { name: string; before: Op[]; write: Op; message: RegExp }[] = [
    { name: 'negative offset', before: [], write: [-1, 'a'], message: /invalid offset -1/ },
    { name: 'fractional offset', before: [], write: [1.5, 'a'], message: /invalid offset/ },
    { name: 'past 5 TiB', before: [], write: [MAX_OBJECT_BYTES, 'a'], message: /5 TiB/ },
    { name: 'before the current part', before: [[0, '0123456789']], write: [9, 'x'], message: /already sent to S3/ },
    { name: 'beyond the window', before: [], write: [30, 'x'], message: /beyond the reorder window \(bytes 0\.\.29\)/ },
    {
      name: 'the window moves with the current part',
      before: [[0, '0123456789']],
      write: [40, 'x'],
      message: /reorder window \(bytes 10\.\.39\)/,
    },
    { name: 'exact duplicate', before: [[0, 'abc']], write: [0, 'abc'], message: /overlaps bytes already received/ },
    { name: 'overlap on the left', before: [[5, 'abc']], write: [3, 'xyz'], message: /overlaps/ },
    { name: 'overlap on the right', before: [[5, 'abc']], write: [7, 'xyz'], message: /overlaps/ },
    { name: 'contained', before: [[2, 'abcdef']], write: [4, 'x'], message: /overlaps/ },
    { name: 'overlap in a later part', before: [[12, 'ab']], write: [8, 'wxyzQ'], message: /overlaps/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const asm = make();
      run(asm, c.before);
      const end = asm.end;
      const current = asm.current;
      const open = asm.openParts;
      assert.throws(
        () => run(asm, [c.write]),
        (err: unknown) => isStorageError(err, StorageErrorCode.InvalidWrite) && c.message.test(err.message),
      );
      assert.deepEqual([asm.end, asm.current, asm.openParts], [end, current, open], 'state unchanged');
    });
  }
});

describe('PartAssembler: holes fail finish()', () => {
  const cases: { name: string; writes: Op[]; at: number }[] = [
    {
      name: 'gap inside the first part',
      writes: [
        [0, 'ab'],
        [4, 'cd'],
      ],
      at: 2,
    },
    { name: 'missing start', writes: [[3, 'ab']], at: 0 },
    {
      name: 'missing whole part between',
      writes: [
        [0, '0123456789'],
        [20, 'x'],
      ],
      at: 10,
    },
    {
      name: 'gap in a later part',
      writes: [
        [0, '0123456789'],
        [10, 'ab'],
        [14, 'c'],
      ],
      at: 12,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const asm = make();
      run(asm, c.writes);
      const open = asm.openParts;
      assert.throws(
        () => asm.finish(),
        (err: unknown) =>
          isStorageError(err, StorageErrorCode.InvalidWrite) && err.message.includes(`offset ${c.at} (a hole)`),
      );
      assert.equal(asm.openParts, open, 'a refused finish seals nothing');
      assert.equal(asm.drain().length, open, 'drain hands back every open part');
      assert.equal(asm.openParts, 0);
    });
  }
});

describe('PartAssembler: range cap', () => {
  test('a write that would add a piece past the cap is refused; merging writes still pass', () => {
    const asm = make(3);
    run(asm, [
      [0, 'a'],
      [2, 'b'],
      [4, 'c'],
    ]);
    assert.throws(() => run(asm, [[6, 'd']]), /more than 3 separate pieces/);
    run(asm, [[1, 'x']]); // merges [0,1) and [2,3): 2 pieces
    run(asm, [[6, 'd']]); // back to 3
    run(asm, [
      [3, 'y'],
      [5, 'z'],
      [7, 'QRS'],
    ]);
    assert.deepEqual(asm.finish().map(show), []);
  });

  test('1-byte writes at alternating offsets stay cheap and stop at the cap (1,024 by default)', () => {
    const asm = new PartAssembler({ basePartSize: 5 * 1024 * 1024, what: 'upload "f"', slabs: slabSource(256 * 1024) });
    const one = Buffer.from('x');
    let refused = 0;
    for (let i = 0; i < 4096; i += 2) {
      try {
        run(asm, [[i, 'x']]);
      } catch (err) {
        assert.ok(isStorageError(err, StorageErrorCode.InvalidWrite));
        refused++;
      }
    }
    assert.equal(refused, 2048 - 1024);
    assert.ok(one.length === 1);
  });
});

test('open() refuses a sealed or already open part; put() an unopened one (driver bugs)', () => {
  const asm = make();
  run(asm, [[0, '0123456789']]);
  assert.throws(() => asm.open(1), RangeError);
  asm.open(2);
  assert.throws(() => asm.open(2), RangeError);
  assert.throws(() => asm.put({ n: 4, from: 0, to: 1, dataFrom: 0 }, Buffer.from('a')), RangeError);
});

describe('PartAssembler: memory grows with the data, in slabs', () => {
  test('slabs are taken as bytes arrive, counted before, and given back at seal', () => {
    const slabs = slabSource(4);
    const asm = make(undefined, slabs);
    const [first] = asm.plan(0, 1);
    assert.ok(first);
    assert.equal(asm.missingSlabs(first), 1, 'one slab for the first byte of an unopened part');
    run(asm, [[0, 'a']]);
    assert.deepEqual([slabs.out, asm.slabBytes], [1, 4]);
    const [late] = asm.plan(5, 4); // bytes 5..8: slabs 1 and 2
    assert.ok(late);
    assert.equal(asm.missingSlabs(late), 2);
    run(asm, [[5, 'fghi']]);
    assert.equal(slabs.out, 3);
    const [mid] = asm.plan(1, 4); // bytes 1..4: slabs 0 and 1, both there
    assert.ok(mid);
    assert.equal(asm.missingSlabs(mid), 0);
    const sealed: string[] = [];
    for (const sl of asm.plan(1, 4)) for (const p of asm.put(sl, Buffer.from('bcde'))) sealed.push(show(p));
    assert.equal(sealed.length, 0);
    for (const sl of asm.plan(9, 1)) {
      for (const p of asm.put(sl, Buffer.from('j'))) {
        sealed.push(show(p));
        assert.equal(p.slabBytes, 12);
        assert.equal(p.bytes, 10);
        assert.deepEqual(
          p.body.map((b) => b.length),
          [4, 4, 2],
          'views of the slabs, the last one cut to the part',
        );
      }
    }
    assert.deepEqual(sealed, ['1:abcdefghij']);
    assert.equal(slabs.out, 3, 'the slabs are the body: given back by the driver after S3 answered');
  });

  test('a part that fits one slab is sent from the slab itself', () => {
    const slabs = slabSource(16);
    const asm = make(undefined, slabs);
    run(asm, [[0, 'abc']]);
    const [p] = asm.finish();
    assert.ok(p);
    assert.equal(Buffer.concat(p.body).toString(), 'abc');
    assert.equal(p.slabs[0]?.length, 16, 'the slab');
    assert.equal(slabs.out, 1, 'still out: the driver gives it back after S3 answered');
  });

  test('drain() gives every slab back and reports what the parts held', () => {
    const slabs = slabSource(4);
    const asm = make(undefined, slabs);
    run(asm, [
      [0, 'ab'],
      [12, 'x'],
    ]);
    const drained = asm.drain();
    assert.deepEqual(
      drained.map((d) => [d.n, d.size, d.slabBytes, d.filled]),
      [
        [1, 10, 4, 2],
        [2, 10, 4, 1],
      ],
    );
    assert.equal(slabs.out, 0);
  });
});

test('part sizes grow with the part number (tiers of 900 parts)', () => {
  const asm = make();
  assert.equal(asm.partSize(1), 10);
  assert.equal(asm.partSize(900), 10);
  assert.equal(asm.partSize(901), 20);
});
