// The hardened list-watch cache lives in common/ (the sftp pod watches its users Secrets with it too).
export * from '../../../common/src/kube/informer.ts';
