#!/usr/bin/env node
// sftpgate-sftp: the standalone sftp pod (docs/sftp-pod.md). Runs the TypeScript sources directly when they are
// present (Node >= 26 strips types; the development tree and `npm link`), else the bundle from
// `npm run build` (dist/, for images that ship only JavaScript). main() never exits by itself; we do, with its code.
import { existsSync } from 'node:fs';

const source = new URL('../src/main.ts', import.meta.url);
const built = new URL('../../dist/sftp-pod/main.js', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : built.href);
process.exitCode = await main(process.argv.slice(2));
// Sockets and timers are closed by shutdown; exit explicitly so a stray handle cannot keep a stopped pod alive.
process.exit();
