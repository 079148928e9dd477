#!/usr/bin/env node
// sftpgate-operator: runs the TypeScript sources directly when present (Node >= 26 strips types), else the compiled
// build from `npm run build` (dist/). main() resolves the exit code; leftover handles must not keep us alive.
import { existsSync } from 'node:fs';

const source = new URL('../src/main.ts', import.meta.url);
const built = new URL('../../dist/operator/main.js', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : built.href);
process.exit(await main(process.argv.slice(2)));
