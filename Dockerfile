# syntax=docker/dockerfile:1
# Both images from one file (docs/images.md), one target each. Build from the repository root:
#   docker build --target operator -t ghcr.io/sftpgate/sftpgate-operator:<version> .
#   docker build --target sftp -t ghcr.io/sftpgate/sftpgate-sftp:<version> .
# The base image tag is the pinned runtime of test/infra/install/versions.env (NODE_VERSION); a test keeps them equal.
# The test bed builds the same file with buildah on a locally built equivalent base (NODE_IMAGE, see docs/testbed.md).
ARG NODE_IMAGE=node:26.10.0-bookworm-slim

# --- build: compile TypeScript with the project's own tsc (dev dependencies live only in this stage).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Not `npm ci` (see the Makefile: the lock cannot list Biome's other-platform packages, so `npm ci` refuses it);
# `npm install --no-save` installs exactly the locked versions. --ignore-scripts: no install script runs (ssh2's
# optional native binding is not built; we use Node's crypto).
RUN npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY common/src common/src
COPY operator/src operator/src
COPY sftp-pod/src sftp-pod/src
RUN npx tsc -p tsconfig.build.json

# --- deps: production dependencies only, from the same lockfile. Only node_modules leaves this stage (no npm cache).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
# Dependency patches (patches/*.patch, docs/decisions.md): no install script runs, so they are applied explicitly;
# the pod refuses to start on an unpatched ssh2 (SFTPGATE_SSH2_PATCH).
COPY patches patches
RUN node patches/apply.ts && rm -rf patches

# --- runtime: Node, production node_modules. Each target adds its compiled JavaScript and bin launcher, nothing else.
FROM ${NODE_IMAGE} AS runtime
# No passwd entry exists for the numeric UID below: give libraries that look for a home (the AWS SDK's ~/.aws
# lookups) one that exists. /tmp is the pod's emptyDir; the root filesystem is read-only.
ENV NODE_ENV=production HOME=/tmp
WORKDIR /app
# package.json carries "type": "module", which makes dist/**/*.js ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
# What the operator and the sftp pod share (common/): both import it at run time.
COPY --from=build /src/dist/common ./dist/common
# The same numeric UID/GID as the chart (operator.podSecurityContext) and the operator's sftp Deployment set:
# non-root, no shell login.
USER 65532:65532

# --- the operator image. Node is PID 1 on purpose (no tini): main.ts handles SIGTERM/SIGINT (stop the work queue,
# release the Lease, exit) and the operator spawns no child processes, so there are no zombies to reap.
FROM runtime AS operator
COPY --from=build /src/dist/operator ./dist/operator
COPY operator/bin ./operator/bin
EXPOSE 8080
ENTRYPOINT ["node", "/app/operator/bin/sftpgate-operator.js"]

# --- the sftp pod image. Node is PID 1 on purpose: main.ts handles SIGTERM/SIGINT (stop accepting, drain transfers
# within --shutdown-grace, exit) and the pod spawns no child processes.
FROM runtime AS sftp
COPY --from=build /src/dist/sftp-pod ./dist/sftp-pod
COPY sftp-pod/bin ./sftp-pod/bin
EXPOSE 2222 9090
ENTRYPOINT ["node", "/app/sftp-pod/bin/sftpgate-sftp.js"]
