// The fastify instance every meadow listener runs on (the API, the device data plane): its logger settings and
// the errors raised before a request reaches the AWS API plugin, which still leave AWS-shaped with a request id.
import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { plainError } from './errors.js';

export interface FastifyAppOptions {
  logger: boolean | object;
  /** TLS settings; the listener is plain HTTP without them. */
  https?: HttpsServerOptions;
}

const errorHeaders = (code: string) => ({ 'x-amzn-ErrorType': code, 'x-amzn-RequestId': randomUUID(), 'content-type': 'application/json' });

export function createFastifyApp(opts: FastifyAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger,
    // Per-request access logs would cost more than the requests; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024 * 1024,
    ...(opts.https ? { https: opts.https } : {}),
    frameworkErrors: (err, _req, reply) => {
      const e = plainError(400, 'SerializationException', `Malformed request: ${err.message}`);
      (reply as FastifyReply).code(e.status).headers(errorHeaders(e.code)).send(e.body);
    },
  }) as unknown as FastifyInstance; // one instance type for HTTP and HTTPS: the plugins do not depend on which
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const e = plainError(status, status === 413 ? 'RequestEntityTooLargeException' : status === 500 ? 'InternalFailure' : 'SerializationException', err.message);
    reply.code(e.status).headers(errorHeaders(e.code)).send(e.body);
  });
  return app;
}
