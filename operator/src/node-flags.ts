// The Node flags the operator runs with: the operator image's ENTRYPOINT carries exactly these (a test compares them)
// and the operator-scale benchmark starts the compiled operator with them, so what is measured is what ships.
// Measured in docs/benchmarks.md, "Operator at 10,000 users": without them V8 sized the heap by the allocation rate of
// a bulk create (young generation up to 3 x 32 MiB, old space growing far past the live set) and the operator peaked
// at 445-566 MiB RSS for a live heap of ~80 MiB (the largest after a full collection at 10,000 users). A 2 MiB
// semi-space bounds the young garbage (4 until session 19: with the 32 user workers added then the create + delete peak
// was 259 MiB, with 2 MiB 249 at the same Ready time and operator CPU: docs/benchmarks.md "Runs of the lead, session
// 19"); the old-space cap (192 MiB) makes V8 collect before it grows the heap past it, and leaves more than twice the
// live set of 10,000 users (docs/operations.md: past ~20,000 users per operator, raise it by overriding the
// container's command).
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--max-old-space-size=192'];
