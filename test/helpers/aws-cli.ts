// Running the AWS CLI v2 (Debian's awscli) in tests: which binary, and an environment that holds nothing of the
// machine's own AWS configuration but the test server's credentials.
import { TEST_CREDENTIALS } from './server.js';

export const AWS_CLI = process.env.MEADOW_AWS_CLI || '/usr/bin/aws';

export function awsCliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
    ...extra,
  };
}
