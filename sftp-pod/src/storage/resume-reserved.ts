// The reserved root `<server prefix>/.sftpgate/`: objects the pods and the operator keep next to the data (resumable
// upload state under `uploads/`, quota usage under `usage/`), never files of a user. Homes and logical directories are
// always below the server prefix, so only a home or logical-directory prefix whose FIRST segment is `.sftpgate` could
// map a user's path there: the jail refuses such configuration, and refuses any key under the root as a second guard
// (docs/security.md "Reserved prefix").

/** The reserved first segment under the server prefix. */
export const RESERVED_SEGMENT = '.sftpgate';

/** Throws (plain Error: bad configuration) when a configured prefix's segments would enter the reserved root. */
export function assertNotReservedPrefix(what: string, segments: readonly string[]): void {
  if (segments[0] === RESERVED_SEGMENT) {
    throw new Error(
      `${what} must not start with ${JSON.stringify(RESERVED_SEGMENT)}: that prefix is reserved for sftpgate`,
    );
  }
}

/** The reserved root's key prefix (with trailing slash) under a server prefix ('' or `srv`/`srv/`). */
export function reservedRoot(serverPrefix: string): string {
  const base = serverPrefix.endsWith('/') ? serverPrefix.slice(0, -1) : serverPrefix;
  return base === '' ? `${RESERVED_SEGMENT}/` : `${base}/${RESERVED_SEGMENT}/`;
}

/** Is `key` the reserved root itself or anything under it? */
export function isReservedKey(serverPrefix: string, key: string): boolean {
  const root = reservedRoot(serverPrefix);
  return key === root.slice(0, -1) || key.startsWith(root);
}
