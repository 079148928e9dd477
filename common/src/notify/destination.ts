// Which webhook URLs a platform's allow-list lets a tenant use (SftpStorageProfile spec.notifications
// .allowedDestinations). One matcher for both towers: the operator refuses a server whose URL no entry allows, and the
// pod checks again before every delivery. Pure: URLs are compared after WHATWG normalisation (scheme, host, port and
// dot segments), so `https://hooks.example.com/sftp/../admin` is `/admin` and does not match a `/sftp/` prefix.

/** One allow-list entry, as the profile states it. */
export interface AllowedDestination {
  /** `https://host[:port]/path-prefix`; the path matches on a segment boundary. */
  readonly urlPrefix: string;
  /** Plain http is accepted only when the entry says so. */
  readonly allowInsecureHTTP?: boolean;
  /** The host may resolve to loopback, private or cluster addresses (an in-cluster receiver, a test receiver). */
  readonly allowPrivateAddresses?: boolean;
}

export type DestinationMatch =
  | { readonly ok: true; readonly entry: AllowedDestination; readonly url: URL }
  | { readonly ok: false; readonly reason: string };

const DEFAULT_PORT: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };
/** Encoded separators a receiver may decode after our prefix check (`/sftp/%2e%2e%2fadmin`, `\`). */
const ENCODED_SEPARATOR = /%2f|%5c|\\/i;
const MAX_URL_LENGTH = 2048;

function parse(text: string): URL | undefined {
  if (text.length > MAX_URL_LENGTH) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Why `text` is not a usable webhook URL at all (before any allow-list), or undefined when it is one. Pure. */
export function invalidWebhookUrl(text: string): string | undefined {
  const url = parse(text);
  if (!url) return 'not an absolute URL';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not http(s)`;
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed (use secretRef)';
  if (url.hash !== '') return 'a fragment is not allowed';
  if (ENCODED_SEPARATOR.test(url.pathname)) return 'encoded slashes or backslashes in the path are not allowed';
  return undefined;
}

function port(url: URL): string {
  return url.port === '' ? (DEFAULT_PORT[url.protocol] ?? '') : url.port;
}

/** `path` is `prefix`, or below it on a segment boundary (`/sftp` matches `/sftp` and `/sftp/x`, not `/sftpx`). */
function underPath(path: string, prefix: string): boolean {
  if (prefix === '' || prefix === '/') return true;
  if (path === prefix) return true;
  const dir = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(dir);
}

/** Whether `entry` allows `url` (both already valid). Scheme, host and port must be equal; the path is a prefix. */
function allows(entry: AllowedDestination, prefix: URL, url: URL): boolean {
  if (url.protocol === 'http:' && entry.allowInsecureHTTP !== true) return false;
  return (
    prefix.protocol === url.protocol &&
    prefix.hostname === url.hostname &&
    port(prefix) === port(url) &&
    underPath(url.pathname, prefix.pathname)
  );
}

/**
 * The first entry of `allowed` that lets a tenant send to `text`, or why none does. An empty list allows nothing.
 * Entries that are not valid URL prefixes themselves allow nothing. Pure.
 */
export function matchDestination(text: string, allowed: readonly AllowedDestination[] | undefined): DestinationMatch {
  const invalid = invalidWebhookUrl(text);
  if (invalid !== undefined) return { ok: false, reason: `webhook URL refused: ${invalid}` };
  const url = parse(text) as URL;
  if (!allowed || allowed.length === 0) {
    return { ok: false, reason: 'the storage profile allows no notification destinations' };
  }
  for (const entry of allowed) {
    const prefix = parse(entry.urlPrefix);
    if (!prefix || invalidWebhookUrl(entry.urlPrefix) !== undefined || prefix.search !== '') continue;
    if (allows(entry, prefix, url)) return { ok: true, entry, url };
  }
  const plain = url.protocol === 'http:' ? ' (plain http needs allowInsecureHTTP on the entry)' : '';
  // The origin only: a tenant's path or query may carry a token.
  return {
    ok: false,
    reason: `webhook destination ${url.origin} is not in the storage profile's notifications.allowedDestinations${plain}`,
  };
}
