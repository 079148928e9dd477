// The operator runtime: import from here. See docs/api.md ("Runtime") for the contract of each piece.
export { Backoff, type BackoffOptions, sleep } from './backoff.ts';
export * from './conditions.ts';
export * from './controller.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './finalizers.ts';
export * from './http-server.ts';
export * from './informer.ts';
export * from './kube-client.ts';
export * from './leader-election.ts';
export * from './logger.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './owner.ts';
export * from './work-queue.ts';
