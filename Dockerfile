# syntax=docker/dockerfile:1
# Both images from one file (docs/images.md), one target each. Build from the repository root:
#   docker build --target operator -t ghcr.io/sftpgate/sftpgate-operator:<version> .
#   docker build --target sftp -t ghcr.io/sftpgate/sftpgate-sftp:<version> .
# The base image tag is the pinned runtime of test/infra/install/versions.env (NODE_VERSION); a test keeps them equal.
# The test bed builds the same file with buildah on a locally built equivalent base (NODE_IMAGE, see docs/testbed.md).
ARG NODE_IMAGE=node:26.10.0-bookworm-slim

# --- build: type-check with the project's own tsc, then bundle each process into one ES module with esbuild
# (common/src/build/bundle.ts; dev dependencies live only in this stage, and the bundles carry every runtime
# dependency, so no node_modules ships).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Not `npm ci` (see the Makefile: the lock cannot list Biome's other-platform packages, so `npm ci` refuses it);
# `npm install --no-save` installs exactly the locked versions. --ignore-scripts: no install script runs (ssh2's
# native binding is built explicitly below, without node-gyp; esbuild runs from its platform package).
RUN npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error
# Dependency patches (patches/*.patch, docs/decisions.md): no install script runs, so they are applied explicitly,
# before the bundle takes the dependencies in; the pod refuses to start on an unpatched ssh2 (SFTPGATE_SSH2_PATCH).
COPY patches patches
RUN node patches/apply.ts
# ssh2's native crypto binding (docs/decisions.md): g++ in this stage only, against the headers the node image ships
# in /usr/local/include/node (a base without them, like the test bed's, takes them from Node's npm package); the
# bundle step copies the .node into dist/. A stage that cannot get g++ builds an image on Node's crypto instead, which
# the pod reports with a warning at startup.
RUN (apt-get update && apt-get install -y --no-install-recommends g++ \
      && node patches/build-ssh2-binding.ts --fetch-headers) \
      || echo 'ssh2 native crypto binding NOT built (no g++ or no Node headers in the build stage)'; \
    rm -rf /var/lib/apt/lists/*
COPY tsconfig.json tsconfig.build.json ./
COPY common/src common/src
COPY operator/src operator/src
COPY sftp-pod/src sftp-pod/src
RUN npx tsc -p tsconfig.build.json && node common/src/build/bundle.ts

# --- runtime: Node and package.json only. Each target adds its bundle and bin launcher, nothing else.
FROM ${NODE_IMAGE} AS runtime
# No passwd entry exists for the numeric UID below: give libraries that look for a home (the AWS SDK's ~/.aws
# lookups) one that exists. /tmp is the pod's emptyDir; the root filesystem is read-only.
ENV NODE_ENV=production HOME=/tmp
WORKDIR /app
# package.json carries "type": "module", which makes dist/**/*.js ES modules.
COPY package.json ./package.json
# The same numeric UID/GID as the chart (operator.podSecurityContext) and the operator's sftp Deployment set:
# non-root, no shell login.
USER 65532:65532

# --- the operator image. Node is PID 1 on purpose (no tini): main.ts handles SIGTERM/SIGINT (stop the work queue,
# release the Lease, exit) and the operator spawns no child processes, so there are no zombies to reap. The Node flags
# are operator/src/node-flags.ts (a test keeps them equal): they bound the heap V8 grows during a bulk create
# (docs/benchmarks.md, "Operator at 10,000 users").
FROM runtime AS operator
COPY --from=build /src/dist/operator ./dist/operator
COPY operator/bin ./operator/bin
EXPOSE 8080
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=192", "/app/operator/bin/sftpgate-operator.js"]

# --- the sftp pod image. Node is PID 1 on purpose: main.ts handles SIGTERM/SIGINT (stop accepting, drain transfers
# within --shutdown-grace, exit) and the pod spawns no child processes. The Node flags are sftp-pod/src/node-flags.ts
# (a test keeps them equal): they bound the garbage a transfer leaves between collections, space the old generation's
# collections out, and keep ICU's time zone data out of memory (docs/benchmarks.md, "Pod memory", "Pod idle memory,
# session 18", "Pod memory and GC, session 19"). The malloc settings are
# POD_MALLOC_ENV in the same file (a test keeps them equal): big buffers are given back to the kernel when freed, one
# malloc arena (docs/benchmarks.md, "Pod memory and GC, session 19").
FROM runtime AS sftp
ENV MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=262144
COPY --from=build /src/dist/sftp-pod ./dist/sftp-pod
COPY sftp-pod/bin ./sftp-pod/bin
EXPOSE 2222 9090
ENTRYPOINT ["node", "--max-semi-space-size=1", "--initial-old-space-size=32", "--no-icu-timezone-data", "/app/sftp-pod/bin/sftpgate-sftp.js"]
