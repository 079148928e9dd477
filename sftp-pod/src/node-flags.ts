// The Node flags the sftp pod runs with: the image's ENTRYPOINT carries exactly these (a test compares them) and the
// benchmarks start the compiled pod with them, so what is measured is what ships. Measured in docs/benchmarks.md,
// "Pod memory": a 1 MiB semi-space and V8's size-over-speed heuristics bound the garbage a transfer leaves between
// collections (most of it per-packet Buffers outside the heap), which is most of the pod's peak RSS above idle.
export const POD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];
