// The container images, without a container engine (none runs on our machines): the Dockerfiles' invariants are
// checked against the pins and the chart, and the runtime layout each Dockerfile assembles is rebuilt in a temp dir
// exactly as its COPY lines say — tsc output, production dependencies only (the packages `npm ci --omit=dev` would
// install, from the lockfile), the bin launcher, a read-only tree — and its ENTRYPOINT is run there.

import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SFTP_IMAGE } from '../../operator/src/config.ts';
import { makeTempDir, readVersions, removeTempDir, runCommand } from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE_BIN = process.execPath;

interface Image {
  readonly name: string;
  readonly dockerfile: string;
  readonly repository: string;
  readonly binName: string;
}
const IMAGES: readonly Image[] = [
  {
    name: 'operator',
    dockerfile: 'operator/Dockerfile',
    repository: 'ghcr.io/sftpgate/sftpgate-operator',
    binName: 'sftpgate-operator',
  },
  {
    name: 'sftp pod',
    dockerfile: 'sftp-pod/Dockerfile',
    repository: 'ghcr.io/sftpgate/sftpgate-sftp',
    binName: 'sftpgate-sftp',
  },
];

interface Parsed {
  readonly from: string[];
  readonly user: string | undefined;
  readonly entrypoint: string[];
  readonly env: Record<string, string>;
  /** Runtime-stage copies: [source (build-stage path or context path), destination under /app]. */
  readonly copies: Array<{ from: string | undefined; src: string; dest: string }>;
  readonly runs: string[];
}

/** A small Dockerfile reader: enough for our two files (one instruction per logical line, JSON-form ENTRYPOINT). */
function parseDockerfile(text: string): Parsed {
  const lines = text
    .replace(/\\\n\s*(#[^\n]*\n\s*)*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const out: Parsed = { from: [], user: undefined, entrypoint: [], env: {}, copies: [], runs: [] };
  let stage = -1;
  let lastStage = false;
  const stageCount = lines.filter((l) => l.startsWith('FROM ')).length;
  let user: string | undefined;
  for (const line of lines) {
    const [instr = '', ...restParts] = line.split(/\s+/);
    const rest = restParts.join(' ');
    if (instr === 'ARG' && stage < 0) {
      const [k, v] = rest.split('=');
      if (k && v) args[k] = v;
    } else if (instr === 'FROM') {
      stage++;
      lastStage = stage === stageCount - 1;
      out.from.push((restParts[0] ?? '').replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? ''));
    } else if (instr === 'RUN') {
      out.runs.push(rest);
    } else if (!lastStage) {
      // only the runtime stage's layout matters below
    } else if (instr === 'USER') {
      user = rest;
    } else if (instr === 'ENTRYPOINT') {
      out.entrypoint.push(...(JSON.parse(rest) as string[]));
    } else if (instr === 'ENV') {
      for (const m of rest.matchAll(/(\w+)=(\S+)/g)) if (m[1] && m[2]) out.env[m[1]] = m[2];
    } else if (instr === 'COPY') {
      const from = rest.match(/--from=(\S+)/)?.[1];
      const parts = rest.replace(/--from=\S+\s*/, '').split(/\s+/);
      const [src = '', dest = ''] = parts;
      out.copies.push({ from, src, dest });
    }
  }
  return { ...out, user };
}

describe('container images (Dockerfiles and their runtime layout)', () => {
  let tmp: string | undefined;
  let built: Promise<{ dist: string; prodModules: string[] }> | undefined;

  /**
   * The build and deps stages, once per file, on first use (so a failure is reported by the test that needs it):
   * the project's own tsc with tsconfig.build.json into a temp outDir — failing on type errors, as `RUN npx tsc`
   * would — and the packages `npm ci --omit=dev` installs, read from the lockfile through npm itself.
   */
  const build = () => {
    built ??= (async () => {
      tmp = makeTempDir('images');
      const dist = join(tmp, 'dist');
      await runCommand(
        join(ROOT, 'node_modules/.bin/tsc'),
        ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dist],
        {
          cwd: ROOT,
          timeoutMs: 300_000,
        },
      );
      const ls = await runCommand('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
        cwd: ROOT,
        allowFailure: true,
      });
      const prodModules = ls.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith(join(ROOT, 'node_modules/')));
      assert.ok(prodModules.length > 10, `npm ls found ${prodModules.length} production packages`);
      return { dist, prodModules };
    })();
    return built;
  };

  after(() => {
    if (tmp && existsSync(tmp)) {
      // Undo the read-only layouts so the temp dir can be removed.
      const unlock = (p: string) => {
        chmodSync(p, 0o755);
        if (statSync(p).isDirectory()) for (const e of readdirSync(p)) unlock(join(p, e));
      };
      unlock(tmp);
      removeTempDir(tmp);
    }
  });

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const values = parseYaml(readFileSync(join(ROOT, 'charts/sftpgate/values.yaml'), 'utf8')) as {
    image: { repository: string };
    sftpImage: { repository: string };
    operator: { podSecurityContext: { runAsUser: number; runAsGroup: number } };
  };

  it('the chart references exactly these image repositories, tagged with its appVersion', () => {
    assert.equal(values.image.repository, IMAGES[0]?.repository);
    assert.equal(values.sftpImage.repository, IMAGES[1]?.repository);
    // The operator's own default (used out of cluster, e.g. `make demo`) is the chart's default sftp image.
    const chart = parseYaml(readFileSync(join(ROOT, 'charts/sftpgate/Chart.yaml'), 'utf8')) as { appVersion: string };
    assert.equal(DEFAULT_SFTP_IMAGE, `${values.sftpImage.repository}:${chart.appVersion}`);
    const docs = readFileSync(join(ROOT, 'docs/images.md'), 'utf8');
    for (const img of IMAGES) {
      assert.ok(docs.includes(`-f ${img.dockerfile} -t ${img.repository}:`), `docs/images.md builds ${img.repository}`);
    }
  });

  for (const img of IMAGES) {
    describe(img.name, () => {
      const parsed = parseDockerfile(readFileSync(join(ROOT, img.dockerfile), 'utf8'));

      it('every stage is the pinned Node runtime on Debian bookworm slim', () => {
        const want = `node:${readVersions()['NODE_VERSION']}-bookworm-slim`;
        assert.equal(parsed.from.length, 3, 'build, deps and runtime stages');
        for (const from of parsed.from) assert.equal(from.split(' ')[0], want);
      });

      it('installs production dependencies only, from the lockfile, without install scripts', () => {
        assert.ok(parsed.runs.some((r) => /npm ci --omit=dev --ignore-scripts/.test(r)));
        assert.ok(parsed.runs.some((r) => /tsc -p tsconfig\.build\.json/.test(r)));
      });

      it('runs as the non-root numeric UID/GID the chart and the operator set', () => {
        const { runAsUser, runAsGroup } = values.operator.podSecurityContext;
        assert.equal(parsed.user, `${runAsUser}:${runAsGroup}`);
        const desired = readFileSync(join(ROOT, 'operator/src/controllers/sftp-server/desired.ts'), 'utf8');
        assert.match(desired, new RegExp(`POD_UID = ${runAsUser};`), 'the sftp Deployment uses the same UID');
      });

      it('starts node directly on the package bin launcher (node is PID 1 and handles SIGTERM in main.ts)', () => {
        assert.equal(parsed.entrypoint[0], 'node');
        assert.equal(parsed.entrypoint[1], `/app/${(pkg.bin[img.binName] ?? '').replace(/^\.\//, '')}`);
        assert.equal(parsed.env['HOME'], '/tmp', 'a writable HOME on the read-only root filesystem');
      });

      const launcher = pkg.bin[img.binName] ?? '';
      it('the assembled runtime layout runs read-only with production dependencies only', {
        todo: existsSync(join(ROOT, launcher)) ? false : `${launcher} has not landed yet`,
      }, async () => {
        const { dist, prodModules } = await build();
        const app = join(tmp ?? '', `${img.binName}-app`);
        mkdirSync(app, { recursive: true });
        for (const c of parsed.copies) {
          const dest = join(app, c.dest.replace(/^\.\//, '').replace(/^\/app\/?/, ''));
          if (c.from === 'deps' && c.src.endsWith('node_modules')) {
            for (const m of prodModules) {
              cpSync(m, join(dest, relative(join(ROOT, 'node_modules'), m)), { recursive: true });
            }
          } else if (c.from === 'deps') {
            cpSync(join(ROOT, c.src.replace(/^\/app\//, '')), dest);
          } else if (c.from === 'build') {
            cpSync(join(dist, c.src.replace(/^\/src\/dist\//, '')), dest, { recursive: true });
          } else {
            cpSync(join(ROOT, c.src), dest, { recursive: true });
          }
        }
        // The image holds no TypeScript sources: the launcher must take the compiled path.
        assert.ok(!existsSync(join(app, img.dockerfile.split('/')[0] ?? '', 'src')));
        // A read-only root filesystem.
        const lock = (p: string) => {
          if (statSync(p).isDirectory()) for (const e of readdirSync(p)) lock(join(p, e));
          chmodSync(p, statSync(p).isDirectory() ? 0o555 : 0o444);
        };
        lock(app);
        const [, entry = ''] = parsed.entrypoint;
        const res = await runCommand(NODE_BIN, [join(app, entry.replace(/^\/app\//, '')), '--help'], {
          cwd: app,
          env: { ...parsed.env, HOME: join(tmp ?? '', 'home') },
          allowFailure: true,
          timeoutMs: 60_000,
        });
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout + res.stderr, /--metrics-listen/);
        writeFileSync(join(tmp ?? '', `${img.binName}.help.txt`), res.stdout);
      });
    });
  }
});
