// A throwaway PKI for the test control plane, made with the openssl CLI (Node's crypto can make keys but not
// X.509 certificates). EC P-256 keys: generated in milliseconds, accepted by every Kubernetes component.

import { join } from 'node:path';
import { runCommand } from './process.ts';

export interface KeyPair {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface CertSpec {
  /** File name stem: <name>.crt / <name>.key. */
  readonly name: string;
  readonly commonName: string;
  /** Kubernetes reads O as the user's groups. */
  readonly organizations?: readonly string[];
  /** IP and DNS subject alternative names, e.g. ["IP:127.0.0.1", "DNS:localhost"]. */
  readonly subjectAltNames?: readonly string[];
  readonly usage: 'server' | 'client';
}

// Valid for a week: long enough for any run, short enough that a leaked test key is worthless.
const DAYS = '7';

/** Creates a self-signed CA in `dir`. */
export async function createCa(dir: string, commonName: string, signal?: AbortSignal): Promise<KeyPair> {
  const pair = { certPath: join(dir, 'ca.crt'), keyPath: join(dir, 'ca.key') };
  await ecKey(pair.keyPath, signal);
  await runCommand(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      pair.keyPath,
      '-out',
      pair.certPath,
      '-days',
      DAYS,
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    { signal },
  );
  return pair;
}

/** Issues a leaf certificate signed by `ca`, with a fresh key, into `dir`. */
export async function issueCert(dir: string, ca: KeyPair, spec: CertSpec, signal?: AbortSignal): Promise<KeyPair> {
  const pair = { certPath: join(dir, `${spec.name}.crt`), keyPath: join(dir, `${spec.name}.key`) };
  await ecKey(pair.keyPath, signal);
  const subject = `/CN=${spec.commonName}${(spec.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
  const ext = [
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext',
    `extendedKeyUsage=${spec.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  if (spec.subjectAltNames?.length) ext.push('-addext', `subjectAltName=${spec.subjectAltNames.join(',')}`);
  await runCommand(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      pair.keyPath,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-out',
      pair.certPath,
      '-days',
      DAYS,
      '-subj',
      subject,
      ...ext,
    ],
    { signal },
  );
  return pair;
}

/** Writes an EC P-256 private key (PEM) and, if `publicPath` is given, its public key. */
export async function ecKey(keyPath: string, signal?: AbortSignal, publicPath?: string): Promise<void> {
  await runCommand('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath], {
    signal,
  });
  if (publicPath) await runCommand('openssl', ['pkey', '-in', keyPath, '-pubout', '-out', publicPath], { signal });
}
