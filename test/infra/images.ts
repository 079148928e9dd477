// The project's images, built from its own Dockerfile for the test cluster (cluster.ts): buildah on the local base
// image (install/image-base.sh), once per content hash of the Dockerfile, manifests and sources — a warm run reuses
// the archives; concurrent test files wait on one lock and share the result.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCommand } from './process.ts';
import { cacheRoot, readVersions } from './tools.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BUILD = new URL('./bin/build-images.sh', import.meta.url).pathname;
/** What the Dockerfile COPYs (.dockerignore admits the same), minus tests. */
const INPUTS = ['Dockerfile', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const INPUT_DIRS = ['common/src', 'operator/src', 'operator/bin', 'sftp-pod/src', 'sftp-pod/bin', 'patches'];

export interface BuiltImages {
  /** e.g. localhost/sftpgate-operator:<tag> */
  readonly operator: string;
  readonly sftp: string;
  /** The content hash the images are tagged with. */
  readonly tag: string;
  /** docker-archive files for `ctr images import`. */
  readonly archives: readonly string[];
  /** Uncompressed sizes in bytes (of the docker-archives). */
  readonly sizes: { readonly operator: number; readonly sftp: number };
  /** False when a cached build was reused. */
  readonly built: boolean;
}

/** The base image the test bed builds the Dockerfile on (install/image-base.sh). */
export function baseImageRef(): string {
  return `localhost/sftpgate-base:bookworm-node-${readVersions()['NODE_VERSION']}`;
}

/** The sandbox image (install/image-base.sh) and its docker-archive. */
export function pauseImage(): { readonly ref: string; readonly archive: string } {
  const v = readVersions();
  const k8s = v['KUBERNETES_VERSION'] ?? '';
  return {
    ref: `localhost/sftpgate-pause:${k8s}`,
    archive: join(cacheRoot(), `image-base-node-${v['NODE_VERSION']}-k8s-${k8s}`, 'pause.tar'),
  };
}

/** Hash of every build input (file names and contents) plus the base image. Pure over the file system. */
export function imageInputsHash(root = ROOT): string {
  const h = createHash('sha256');
  h.update(baseImageRef());
  const files: string[] = [];
  for (const f of INPUTS) if (existsSync(join(root, f))) files.push(f);
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, e);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (!e.endsWith('.test.ts')) files.push(rel);
    }
  };
  for (const d of INPUT_DIRS) if (existsSync(join(root, d))) walk(d);
  for (const f of files.sort()) {
    h.update(`${relative(root, join(root, f))}\0`);
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Builds (or reuses) both images. Throws CommandFailed with buildah's output when the build fails. */
export async function buildImages(opts: { readonly signal?: AbortSignal } = {}): Promise<BuiltImages> {
  const tag = imageInputsHash();
  const dir = join(cacheRoot(), 'app-images');
  const out = join(dir, tag);
  const built = !existsSync(join(out, '.complete'));
  if (built) {
    mkdirSync(dir, { recursive: true });
    await runCommand('flock', [join(dir, '.lock'), 'bash', BUILD, ROOT, out, tag, baseImageRef()], {
      signal: opts.signal,
      timeoutMs: 30 * 60_000,
      env: { BUILDAH_ISOLATION: 'chroot' },
    });
  }
  // The docker-archive holds every layer uncompressed: its size is the image's.
  const size = (t: string) => statSync(join(out, `${t}.tar`)).size;
  return {
    operator: `localhost/sftpgate-operator:${tag}`,
    sftp: `localhost/sftpgate-sftp:${tag}`,
    tag,
    archives: [join(out, 'operator.tar'), join(out, 'sftp.tar')],
    sizes: { operator: size('operator'), sftp: size('sftp') },
    built,
  };
}
