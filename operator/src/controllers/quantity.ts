// Kubernetes quantities (int-or-string fields such as partSize: 8Mi) to byte counts, for the pod's env and the
// users table (which carry plain integers).

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses an integer byte quantity (`8Mi`, `10G`, `5242880`, 5242880). Returns undefined when it is not one. */
export function quantityToBytes(q: number | string | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Number.isSafeInteger(q) && q >= 0 ? q : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return undefined;
  const mult = SUFFIX[m[2] ?? ''];
  if (mult === undefined) return undefined;
  const v = Number(m[1]) * mult;
  return Number.isSafeInteger(Math.round(v)) ? Math.round(v) : undefined;
}
