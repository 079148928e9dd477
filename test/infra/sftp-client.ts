// Arguments for OpenSSH's `sftp` and `ssh` against a throwaway test server on loopback: no host-key memory (every
// server has fresh keys on a random port), no prompts, only the key given, and only errors on stderr.

export interface SftpClientTarget {
  readonly port: number;
  /** Appended as `user@host` when set; leave it out to add the destination yourself. */
  readonly user?: string;
  readonly host?: string;
  readonly keyFile?: string;
  /** Further options, placed before the destination (OpenSSH keeps the FIRST value of an option). */
  readonly extra?: readonly string[];
  /** ERROR (default) hides banners and warnings; INFO shows what a login refusal prints. */
  readonly logLevel?: 'ERROR' | 'INFO';
}

/** The `-o` options every test client uses (also the benchmark's base). */
export const LOOPBACK_CLIENT_OPTIONS: readonly string[] = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'BatchMode=yes',
  '-o',
  'IdentitiesOnly=yes',
];

function clientArgs(portFlag: '-P' | '-p', target: SftpClientTarget): string[] {
  return [
    portFlag,
    String(target.port),
    ...LOOPBACK_CLIENT_OPTIONS,
    '-o',
    `LogLevel=${target.logLevel ?? 'ERROR'}`,
    ...(target.keyFile ? ['-i', target.keyFile] : []),
    ...(target.extra ?? []),
    ...(target.user ? [`${target.user}@${target.host ?? '127.0.0.1'}`] : []),
  ];
}

/** Arguments for `sftp` (port flag -P). */
export function sftpClientArgs(target: SftpClientTarget): string[] {
  return clientArgs('-P', target);
}

/** Arguments for `ssh` (port flag -p); the command, if any, goes after them. */
export function sshClientArgs(target: SftpClientTarget): string[] {
  return clientArgs('-p', target);
}
