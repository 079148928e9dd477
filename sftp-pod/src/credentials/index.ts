export * from './broker.ts';
export * from './errors.ts';
