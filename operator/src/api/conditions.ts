// Condition types and reasons of sftpgate's status. Reasons are stable API (alerts and scripts match on them):
// add new ones, never rename. Shape: metav1.Condition; helpers in operator/src/runtime/conditions.ts.

/** Condition types, shared by both kinds where the meaning is the same. */
export const ConditionType = {
  /** Summary: everything this object needs works. Printed by kubectl. */
  Ready: 'Ready',
  /** Server: the bucket is reachable with the configured credentials and our lifecycle rules are in place. User: the home marker exists. */
  StorageReady: 'StorageReady',
  /** Server: IAM roles/policies (AWS) or the STS endpoint (STS) are in place. User: the session policy fits. */
  IAMReady: 'IAMReady',
  /** Server: the host-key Secret exists and holds every requested key type. */
  HostKeysReady: 'HostKeysReady',
  /** Server: the Deployment has at least one ready replica serving the current configuration. */
  Available: 'Available',
  /** User: the spec passed the checks the API server cannot do (keys parse, password Secret readable). */
  Validated: 'Validated',
  /** User: the referenced SftpServer exists in the namespace and is Ready. */
  ServerReady: 'ServerReady',
  /** User: the user is in the server's users table (the pods will accept logins). */
  Published: 'Published',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Condition reasons (CamelCase, as the condition schema requires). */
export const Reason = {
  // generic
  Reconciled: 'Reconciled',
  Progressing: 'Progressing',
  ReconcileError: 'ReconcileError',
  Deleting: 'Deleting',
  DependencyNotReady: 'DependencyNotReady',
  // storage
  BucketReachable: 'BucketReachable',
  BucketNotFound: 'BucketNotFound',
  AccessDenied: 'AccessDenied',
  StorageError: 'StorageError',
  CredentialsSecretNotFound: 'CredentialsSecretNotFound',
  CredentialsSecretInvalid: 'CredentialsSecretInvalid',
  LifecycleRulesApplied: 'LifecycleRulesApplied',
  // profile (what the platform allows a tenant)
  ProfileNotFound: 'ProfileNotFound',
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  ProfileConflict: 'ProfileConflict',
  PrefixConflict: 'PrefixConflict',
  StorageClassNotAllowed: 'StorageClassNotAllowed',
  LifecycleNotAllowed: 'LifecycleNotAllowed',
  PodFieldNotAllowed: 'PodFieldNotAllowed',
  NotificationDestinationNotAllowed: 'NotificationDestinationNotAllowed',
  QuotaExceeded: 'QuotaExceeded',
  ProfileAccepted: 'ProfileAccepted',
  ProfileInUse: 'ProfileInUse',
  // IAM
  IAMDisabled: 'IAMDisabled',
  IAMConfigured: 'IAMConfigured',
  IAMError: 'IAMError',
  SessionPolicyTooLarge: 'SessionPolicyTooLarge',
  SessionPolicyCoarse: 'SessionPolicyCoarse',
  STSEndpointConfigured: 'STSEndpointConfigured',
  IAMRoleConflict: 'IAMRoleConflict',
  IAMAccessDenied: 'IAMAccessDenied',
  IAMInvalidSpec: 'IAMInvalidSpec',
  IAMLimitExceeded: 'IAMLimitExceeded',
  IAMNotAvailable: 'IAMNotAvailable',
  // host keys
  HostKeysGenerated: 'HostKeysGenerated',
  HostKeysFound: 'HostKeysFound',
  HostKeysInvalid: 'HostKeysInvalid',
  // workload
  DeploymentAvailable: 'DeploymentAvailable',
  DeploymentUnavailable: 'DeploymentUnavailable',
  ScaledToZero: 'ScaledToZero',
  // user
  ServerNotFound: 'ServerNotFound',
  ServerNotReady: 'ServerNotReady',
  InvalidAuthorizedKey: 'InvalidAuthorizedKey',
  PasswordSecretNotFound: 'PasswordSecretNotFound',
  PasswordSecretKeyMissing: 'PasswordSecretKeyMissing',
  InvalidPassword: 'InvalidPassword',
  UsernameConflict: 'UsernameConflict',
  Disabled: 'Disabled',
  Expired: 'Expired',
  InUsersTable: 'InUsersTable',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

const reasons = new Set<string>(Object.values(Reason));

/** Whether `value` is a registered reason. */
export function isReason(value: string): value is Reason {
  return reasons.has(value);
}

/**
 * A reason carried by an error or returned by an integration, as a registered one. Unregistered values become
 * `fallback` (a unit test keeps every reason our code produces registered, so this never hides one in practice).
 */
export function asReason(value: string, fallback: Reason = Reason.ReconcileError): Reason {
  return isReason(value) ? value : fallback;
}

/** Conditions each kind reports; Ready is the summary of the others. */
export const serverConditionTypes = [
  ConditionType.Ready,
  ConditionType.StorageReady,
  ConditionType.IAMReady,
  ConditionType.HostKeysReady,
  ConditionType.Available,
] as const;

export const userConditionTypes = [
  ConditionType.Ready,
  ConditionType.Validated,
  ConditionType.ServerReady,
  ConditionType.StorageReady,
  ConditionType.Published,
  ConditionType.IAMReady,
] as const;
