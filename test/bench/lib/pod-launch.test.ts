import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { entrypointNodeFlags, stageEnv } from './pod-launch.ts';

const DOCKERFILE = `FROM node:26 AS build
ENTRYPOINT ["node", "--not-this-stage", "/x.js"]
FROM base AS operator
ENV NOT_THE_POD=1
ENTRYPOINT ["node", "--max-old-space-size=192", "/app/operator/bin/sftpgate-operator.js"]
# --- the sftp pod image
FROM runtime AS sftp
ENV MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=262144
COPY --from=build /src/dist/sftp-pod ./dist/sftp-pod
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "/app/sftp-pod/bin/sftpgate-sftp.js"]
`;

test("entrypointNodeFlags reads the Node flags of the named stage's ENTRYPOINT only", () => {
  assert.deepEqual(entrypointNodeFlags(DOCKERFILE, 'sftp'), ['--max-semi-space-size=1', '--optimize-for-size']);
  assert.deepEqual(entrypointNodeFlags(DOCKERFILE, 'operator'), ['--max-old-space-size=192']);
  assert.deepEqual(entrypointNodeFlags(DOCKERFILE, 'missing'), []);
});

test("the repository's Dockerfile has an sftp stage whose flags parse (whatever they are today)", () => {
  const text = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
  assert.match(text, /AS sftp/);
  for (const f of entrypointNodeFlags(text, 'sftp')) assert.match(f, /^--?[a-z]/);
});

test("stageEnv reads the named stage's own ENV lines only", () => {
  assert.deepEqual(stageEnv(DOCKERFILE, 'sftp'), { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '262144' });
  assert.deepEqual(stageEnv(DOCKERFILE, 'operator'), { NOT_THE_POD: '1' });
  assert.deepEqual(stageEnv(DOCKERFILE, 'missing'), {});
});
