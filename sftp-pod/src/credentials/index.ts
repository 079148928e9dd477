export * from './broker.ts';
export * from './errors.ts';
export * from './readiness.ts';
