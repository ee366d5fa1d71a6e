// The baseline: a bare node:http server that answers the benchmark's requests with canned JSON, without
// verifying, parsing or storing anything. It is the ceiling a Node HTTP server on this machine can reach.
// Usage: BARE_PORT=8080 node --import tsx bench/bare-server.ts
import { createServer } from 'node:http';

const DEPLOYMENT_ID = '5d2f2a4e-6a43-4c1e-9a4a-2b1b6c8f0e11';
const JOB_ID = '0b6b3f0e-2f1e-4a6e-8f57-6a1c2a7e9d42';
const JOB_ARN = `arn:aws:iot:us-east-1:123456789012:job/${JOB_ID}`;

// Shaped and sized like meadow's answers to the same requests.
const CREATED = JSON.stringify({ deploymentId: DEPLOYMENT_ID, iotJobId: JOB_ID, iotJobArn: JOB_ARN });
const DEPLOYMENT = JSON.stringify({
  targetArn: 'arn:aws:iot:us-east-1:123456789012:thinggroup/bench-fleet',
  revisionId: '1',
  deploymentId: DEPLOYMENT_ID,
  deploymentName: 'bench',
  deploymentStatus: 'ACTIVE',
  iotJobId: JOB_ID,
  iotJobArn: JOB_ARN,
  components: { 'com.example.Hello': { componentVersion: '1.0.0' }, 'com.example.Telemetry': { componentVersion: '2.3.1' } },
  creationTimestamp: 1_700_000_000,
  isLatestForTarget: true,
});

const server = createServer((req, res) => {
  req.resume(); // read and drop the body, as a real server must before the connection can be reused
  req.on('end', () => {
    const created = req.method === 'POST' && req.url === '/greengrass/v2/deployments';
    const body = created ? CREATED : req.url === '/health' ? '{"status":"ok"}' : DEPLOYMENT;
    res.writeHead(created ? 201 : 200, { 'content-type': 'application/json', 'x-amzn-RequestId': DEPLOYMENT_ID, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.BARE_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
