// The Node flags the sftp pod runs with: the image's ENTRYPOINT carries exactly these (a test compares them) and the
// benchmarks start the compiled pod with them, so what is measured is what ships. Measured in docs/benchmarks.md,
// "Pod memory": a 1 MiB semi-space bounds the garbage a transfer leaves between collections (most of it per-packet
// Buffers outside the heap), which is most of the pod's peak RSS above idle. `--optimize-for-size` is NOT used: in a
// paired run it cost 1.5-2x the server CPU per GiB for an upload peak a few MiB lower (docs/benchmarks.md, "Pod Node flags, paired").
// `--no-icu-timezone-data`: V8 takes the local time zone from the C library (TZ, /etc/localtime: the same answer in the
// container) instead of ICU; creating any Date (log lines, SigV4 dates, HTTP Date headers) otherwise pages ICU's time
// zone data into every pod: ~0.5 MiB of idle RSS (docs/benchmarks.md, "Pod idle memory, session 18"). Intl still uses ICU.
// `--initial-old-space-size=32`: V8 starts the old generation's allocation limit at 32 MiB instead of a few MiB above
// the ~7-10 MiB the pod keeps alive, so a transfer no longer runs a mark-compact every 100-300 ms. Upload CPU -33 % (7
// of 7 pairs), no change in idle RSS (a limit, not memory) nor in the upload or download peaks (docs/benchmarks.md,
// "Pod memory and GC, session 19"; in session 18 it raised the upload peak ~15 MiB, before the upload's memory was
// given back between transfers and the download's range buffers were reused).
export const POD_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--initial-old-space-size=32',
  '--no-icu-timezone-data',
];

// The C library's malloc settings the sftp image sets (its ENV; a test compares them, and the benchmarks start the
// compiled pod with them). glibc reads them once at process start, so they cannot be set from the pod's own code.
// - MALLOC_MMAP_THRESHOLD_=262144: allocations of 256 KiB and more (the upload's part slabs, the download's 4 MiB
//   range buffers) get their own mappings, so freeing one gives its pages back to the kernel at once. glibc's default
//   threshold is dynamic: after the first such buffer is freed it rises to that size and later ones come from the
//   brk heap, whose freed middle stays resident: a pod that had uploaded and downloaded once kept ~40-60 MiB more
//   than it used, and the next transfer's peak counted it (docs/benchmarks.md, "Pod memory and GC, session 19").
// - MALLOC_ARENA_MAX=1: one malloc arena for every thread (V8's GC workers, libuv's pool) instead of one per thread:
//   -1.3 to -1.5 MiB of idle RSS with no CPU difference measured (docs/benchmarks.md, "Pod idle memory, session 19").
export const POD_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '1',
  MALLOC_MMAP_THRESHOLD_: '262144',
};
