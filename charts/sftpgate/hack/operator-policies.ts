// Writes the operator's AWS policy documents shipped with the chart, from the builders the tests check
// (operator/src/cloud/iam/operator-policy.ts): files/operator-iam-policy.json (mode AWS, attach to the operator's
// role), files/operator-s3-policy.json (the operator's own identity on a profile's bucket) and
// files/profile-credentials-policy.json (a profile's static credentials, shared by the operator and the pods);
// replace BUCKET and ROOT.
// operator-policy.test.ts fails when the files drift. Run: `node charts/sftpgate/hack/operator-policies.ts`.

import { writeFileSync } from 'node:fs';
import {
  operatorIamPolicy,
  operatorS3Policy,
  profileCredentialsPolicy,
} from '../../../operator/src/cloud/iam/operator-policy.ts';

export const FILES = {
  iam: new URL('../files/operator-iam-policy.json', import.meta.url).pathname,
  s3: new URL('../files/operator-s3-policy.json', import.meta.url).pathname,
  profile: new URL('../files/profile-credentials-policy.json', import.meta.url).pathname,
};

/** The placeholders of the shipped S3 document. */
export const S3_PLACEHOLDERS = { bucket: 'BUCKET', root: 'ROOT' };

export function renderPolicies(): { iam: string; s3: string; profile: string } {
  return {
    iam: `${JSON.stringify(operatorIamPolicy(), null, 2)}\n`,
    s3: `${JSON.stringify(operatorS3Policy([S3_PLACEHOLDERS]), null, 2)}\n`,
    profile: `${JSON.stringify(profileCredentialsPolicy(S3_PLACEHOLDERS), null, 2)}\n`,
  };
}

if (import.meta.main) {
  const out = renderPolicies();
  writeFileSync(FILES.iam, out.iam);
  writeFileSync(FILES.s3, out.s3);
  writeFileSync(FILES.profile, out.profile);
  console.log(`wrote ${Object.values(FILES).join(', ')}`);
}
