// RFC 3986 encoding as SigV4 wants it: every byte except the unreserved characters (A-Z a-z 0-9 - _ . ~) becomes
// %XY (upper-case hex) of its UTF-8 encoding. S3 object keys are encoded as they are — no `.`/`..` or `//`
// normalisation — with `/` kept in paths, so the key S3 stores is exactly the key we sent.

/** encodeURIComponent leaves these unencoded although RFC 3986 reserves them. */
const RESERVED_LEFT = /[!'()*]/g;

/** One query parameter name or value, or one path segment (`/` encoded). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(RESERVED_LEFT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An object key (or `bucket/key`) as a URL path: each segment encoded, the slashes between them kept. */
export function uriEncodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

/**
 * The canonical query string: parameters sorted by encoded name (then value), each `name=value`, joined by `&`. The
 * same string is sent on the wire, so what is signed is what S3 reads. Undefined values are left out.
 */
export function canonicalQuery(query: Readonly<Record<string, string | undefined>>): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(query)) if (v !== undefined) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
