// Arguments for OpenSSH's `sftp` against a throwaway test server on loopback: no host-key memory (every server has
// fresh keys on a random port), no prompts, only the key given, and only errors on stderr.

export interface SftpClientTarget {
  readonly port: number;
  /** Appended as `user@host` when set; leave it out to add the destination yourself. */
  readonly user?: string;
  readonly host?: string;
  readonly keyFile?: string;
  /** Further options, placed before the destination. */
  readonly extra?: readonly string[];
}

export function sftpClientArgs(target: SftpClientTarget): string[] {
  return [
    '-P',
    String(target.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    ...(target.keyFile ? ['-i', target.keyFile] : []),
    ...(target.extra ?? []),
    ...(target.user ? [`${target.user}@${target.host ?? '127.0.0.1'}`] : []),
  ];
}
