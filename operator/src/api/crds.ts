import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** A structural OpenAPI v3 schema node as it appears in a CRD (only the keys we read). */
export interface CrdSchema {
  type?: string;
  description?: string;
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema | boolean;
  items?: CrdSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: CrdSchema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string; reason?: string }[];
}

export interface CrdDocument {
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: { name: string; schema: { openAPIV3Schema: CrdSchema } }[];
  };
}

/** Repository root, resolved from this file so scripts and tests work from any working directory. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The CRD files, in the order types and docs are generated. */
export const crdFiles = [
  'crds/sftpgate.io_sftpstorageprofiles.yaml',
  'crds/sftpgate.io_sftpservers.yaml',
  'crds/sftpgate.io_sftpusers.yaml',
] as const;

/** Reads and parses one CRD file (path relative to the repository root). Throws on unreadable YAML. */
export function loadCrd(relativePath: string): CrdDocument {
  return parse(readFileSync(new URL(relativePath, `file://${repoRoot}`), 'utf8')) as CrdDocument;
}

/** Every CRD of the project, parsed. */
export function loadCrds(): CrdDocument[] {
  return crdFiles.map((file) => loadCrd(file));
}
