// Shared with the sftp pod: common/src/kube/backoff.ts.
export { Backoff, type BackoffOptions, sleep } from '../../../common/src/kube/backoff.ts';
