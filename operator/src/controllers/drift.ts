// "Does applying this object change anything?" — so a converged reconcile makes zero API writes. Server-side apply
// of an unchanged object is a no-op for the API server, but still a write request; we skip it when every field we
// set already has our value in the live object (the API server only adds defaults around them).

/** True when every value in `desired` is present and equal in `actual` (arrays: same length, element-wise). */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return desired === actual;
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    return desired.every((d, i) => isSubset(d, actual[i]));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubset(v, a[k]));
}

/**
 * Whether `desired` must be applied over `actual` (absent → yes). Compares the spec-like content only, plus our
 * labels, annotations and owner references; status is never compared.
 */
export function needsApply(desired: object, actual: object | undefined): boolean {
  if (actual === undefined) return true;
  const { status: _ignored, ...rest } = desired as Record<string, unknown>;
  // client-node models name NetworkPolicy peers `_from`; the wire name is `from`.
  return !isSubset(JSON.parse(JSON.stringify(rest).replaceAll('"_from":', '"from":')), actual);
}
