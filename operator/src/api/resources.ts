// Group/version/kind constants of the sftpgate API, for API calls and owner references.
export const group = 'sftpgate.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}` as const;

/** The API's resources; `plural` is the URL segment. */
export const SftpServerResource = { group, version, kind: 'SftpServer', plural: 'sftpservers' } as const;
export const SftpStorageProfileResource = {
  group,
  version,
  kind: 'SftpStorageProfile',
  plural: 'sftpstorageprofiles',
} as const;
export const SftpUserResource = { group, version, kind: 'SftpUser', plural: 'sftpusers' } as const;

/** Finalizer the operator puts on objects whose deletion needs external cleanup (deletionPolicy Delete, IAM). */
export const finalizerName = 'sftpgate.io/cleanup';

/** The one field manager for every server-side apply the operator makes. */
export const fieldManager = 'sftpgate-operator';
