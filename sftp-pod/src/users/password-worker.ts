// Worker thread for imported password hashes (password-imported.ts): bcrypt and argon2id run in WebAssembly and
// sha512-crypt in a loop of synchronous hashes, so on the main thread one login attempt would stall every session of
// the pod for up to a second. Messages: { id, password, hash } in, { id, ok } out.
import { parentPort } from 'node:worker_threads';
import { parseImportedHash, verifyImported } from './password-imported.ts';

parentPort?.on('message', (msg: { id: number; password: string; hash: string }) => {
  const parsed = parseImportedHash(msg.hash);
  const done = (ok: boolean) => parentPort?.postMessage({ id: msg.id, ok });
  if (!parsed) {
    done(false);
    return;
  }
  verifyImported(msg.password, parsed).then(done, () => done(false));
});
