// For unit tests of the budgets: is a promise still pending after the current turn of the event loop?

/** True when `p` has neither resolved nor rejected after one setImmediate turn (rejections are observed). */
export async function stillPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return !done;
}
