// The Node flags the sftp pod runs with: the image's ENTRYPOINT carries exactly these (a test compares them) and the
// benchmarks start the compiled pod with them, so what is measured is what ships. Measured in docs/benchmarks.md,
// "Pod memory": a 1 MiB semi-space bounds the garbage a transfer leaves between collections (most of it per-packet
// Buffers outside the heap), which is most of the pod's peak RSS above idle. `--optimize-for-size` is NOT used: in a
// paired run it cost 1.5-2x the server CPU per GiB for an upload peak a few MiB lower (docs/benchmarks.md, "Pod Node flags, paired").
// `--no-icu-timezone-data`: V8 takes the local time zone from the C library (TZ, /etc/localtime: the same answer in the
// container) instead of ICU; creating any Date (log lines, SigV4 dates, HTTP Date headers) otherwise pages ICU's time
// zone data into every pod: ~0.5 MiB of idle RSS (docs/benchmarks.md, "Pod idle memory, session 18"). Intl still uses ICU.
export const POD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--no-icu-timezone-data'];
