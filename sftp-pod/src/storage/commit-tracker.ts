// Final requests in flight (PutObject / CompleteMultipartUpload of an upload whose CLOSE is being answered), per pod
// budget. Once such a request is sent, S3 may act on it even if we cancel it, so the sink never cancels it (it ends by
// S3's answer or its own deadline) and shutdown waits here before destroying the S3 client: the CLOSE in progress
// finishes, and the log says whether the object was stored instead of guessing.

import type { ByteBudget } from './budget.ts';

const inFlight = new WeakMap<ByteBudget, Set<Promise<unknown>>>();

/** Registers a final request of an upload drawing on `pod`; it is forgotten once settled. */
export function trackCommit(pod: ByteBudget, request: Promise<unknown>): void {
  let set = inFlight.get(pod);
  if (set === undefined) {
    set = new Set();
    inFlight.set(pod, set);
  }
  const s = set;
  const settled = request.then(
    () => undefined,
    () => undefined,
  );
  s.add(settled);
  void settled.then(() => s.delete(settled));
}

/** Final requests in flight now. */
export function commitsInFlight(pod: ByteBudget): number {
  return inFlight.get(pod)?.size ?? 0;
}

/**
 * Resolves once every final request in flight has settled, or after `timeoutMs`; resolves to how many were still in
 * flight at the deadline (0 = every CLOSE in progress got S3's answer).
 */
export async function settleCommits(pod: ByteBudget, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const set = inFlight.get(pod);
    if (set === undefined || set.size === 0) return 0;
    const left = deadline - Date.now();
    if (left <= 0) return set.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...set]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      }),
    ]);
    clearTimeout(timer);
  }
}
