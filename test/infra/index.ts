// The test bed: launchers for real components on loopback. Import from here.
export * from './control-plane.ts';
export * from './errors.ts';
export * from './http.ts';
export * from './minio.ts';
export * from './moto.ts';
export * from './pki.ts';
export * from './ports.ts';
export * from './process.ts';
export * from './reap.ts';
export * from './sftp-client.ts';
export * from './tools.ts';
