// The API edge: one fastify plugin that turns AWS restJson1 requests into handler calls.
// Steps per request: authenticate (SigV4 by default; a client certificate on the device data plane) → service
// (by signing name, or by route) → route from the model → parse → validate → authorize → handler → serialize.
// Every failure leaves as an AWS-shaped error; nothing escapes as a bare 500.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { DownloadUrlSigner } from '../artifacts/download-url.js';
import type { Clock } from '../core/clock.js';
import type { CertificateAuthority } from '../devices/identity/ca.js';
import { MeadowError, invalid, invalidFields } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { HandlerTable, RequestContext } from '../api/context.js';
import { Codec, CannotParse, parseQuery } from './codec.js';
import { plainError, toAwsError, type AwsErrorResponse, type ErrorShapes } from './errors.js';
import { BadPathEncoding, Router } from './router.js';
import type { ServiceModel } from './service-model.js';
import { AuthError, SigV4Verifier, signingServiceOf } from './sigv4.js';
import { Throttle } from './throttle.js';
import { Validator } from './validate.js';

export interface ServiceBinding {
  model: ServiceModel;
  handlers: HandlerTable;
  errors: ErrorShapes;
  /** Other credential-scope names clients sign this service with (older IoT models say `execute-api`). */
  signingAliases?: string[];
  /** When set, only these operations are served; requests for others are unknown operations here. */
  operations?: ReadonlySet<string>;
}

/** The parts of a request an authenticator looks at (SigV4 covers all of them). */
export interface RawRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: FastifyRequest['headers'];
  body: Buffer | undefined;
}

/** Who is calling, as the authentication step found. */
export interface Caller {
  /** The service addressed, when the credentials say (SigV4's scope); otherwise the first service whose routes match. */
  service?: string;
  /** What the rate limit counts requests by. */
  throttleKey: string;
  /** A device identified by its certificate, acting for the things the certificate is attached to. */
  device?: { certificateId: string };
}

/** Throws AuthError (403) when the request carries no acceptable identity. */
export type Authenticate = (req: FastifyRequest, raw: RawRequest) => Promise<Caller>;
/** Checks, after validation, that the caller may make this call with this input; throws AuthError otherwise. */
export type Authorize = (caller: Caller, operation: string, input: Record<string, unknown>) => void | Promise<void>;

export interface AwsApiOptions {
  services: ServiceBinding[];
  store: Store;
  clock: Clock;
  artifacts: ArtifactStore;
  downloads: DownloadUrlSigner;
  /** meadow's certificate authority, loaded on first use. */
  ca: () => Promise<CertificateAuthority>;
  accountId: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string }[];
  rateLimitPerSecond: number;
  /** Replaces SigV4 (with `credentials`) as the authentication step. */
  authenticate?: Authenticate;
  authorize?: Authorize;
  /** scheme://host:port for URLs handed back (downloads); by default the address the caller reached. */
  baseUrl?: () => string;
  /**
   * Services served outside the model-driven path, by signing name (`s3`): their handler gets the request
   * before its body is read, verifies the signature itself and answers in its own wire format.
   */
  extraServices?: ReadonlyMap<string, ExtraServiceHandler>;
}

export type ExtraServiceHandler = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

interface ServedService extends ServiceBinding {
  router: Router;
  codec: Codec;
  validator: Validator;
}

export async function awsApiPlugin(app: FastifyInstance, opts: AwsApiOptions): Promise<void> {
  const services = new Map<string, ServedService>();
  for (const s of opts.services) {
    const served = { ...s, router: new Router(s.model), codec: new Codec(s.model), validator: new Validator(s.model) };
    for (const name of [s.model.signingName, ...(s.signingAliases ?? [])]) services.set(name, served);
  }
  const secrets = new Map(opts.credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  const verifier = new SigV4Verifier({
    secretFor: (id) => secrets.get(id),
    region: opts.region,
    services: new Set(services.keys()),
    now: () => Date.now(), // signatures are checked against real time, whatever clock the domain runs on
  });
  const authenticate: Authenticate =
    opts.authenticate ??
    (async (_req, raw) => {
      const identity = verifier.verify(raw);
      return { service: identity.service, throttleKey: identity.accessKeyId };
    });
  const throttle = new Throttle(opts.rateLimitPerSecond);
  const served = [...new Set(services.values())];

  /** The service and operation a request is for, or undefined when none serves it. */
  function route(caller: Caller, method: string, rawPath: string) {
    for (const svc of caller.service !== undefined ? [services.get(caller.service)!] : served) {
      const match = svc.router.match(method, rawPath);
      if (match && (!svc.operations || svc.operations.has(match.operation.name))) return { svc, match };
    }
    return undefined;
  }
  const scope = { accountId: opts.accountId, region: opts.region };

  // Requests signed for an extra service are handed over before fastify reads (and size-limits) their body.
  const extraServices = opts.extraServices ?? new Map<string, ExtraServiceHandler>();
  if (extraServices.size > 0) {
    app.addHook('onRequest', async (req, reply) => {
      const url = req.raw.url ?? '/';
      const q = url.indexOf('?');
      const extra = extraServices.get(signingServiceOf(req.headers, q < 0 ? '' : url.slice(q + 1)) ?? '');
      if (extra) return extra(req, reply);
    });
  }

  // SigV4 covers the exact body bytes, so bodies stay raw buffers here; the codec parses JSON itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const send = (reply: FastifyReply, requestId: string, e: AwsErrorResponse) =>
    reply
      .code(e.status)
      .headers({ ...e.headers, 'x-amzn-RequestId': requestId, 'x-amzn-ErrorType': e.code, 'content-type': 'application/json' })
      .send(e.body);

  async function handle(req: FastifyRequest, reply: FastifyReply) {
    const requestId = randomUUID();
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const body = Buffer.isBuffer(req.body) ? req.body : undefined;
    let svc: ServedService | undefined;
    try {
      const caller = await authenticate(req, { method: req.method, rawPath, rawQuery, headers: req.headers, body });
      const routed = route(caller, req.method, rawPath);
      // Errors name a service's shapes; a request no service routes answers in the first (or the addressed) one's.
      svc = routed?.svc ?? (caller.service !== undefined ? services.get(caller.service) : served[0]);
      const wait = throttle.take(caller.throttleKey, Date.now());
      if (wait > 0) throw new MeadowError('Throttled', `Rate exceeded: more than ${opts.rateLimitPerSecond} requests per second.`, { retryAfterSeconds: wait });

      if (!routed) {
        throw invalid(`No ${svc!.model.id} operation matches ${req.method} ${rawPath}.`, undefined, 'UNKNOWN_OPERATION');
      }
      const { match } = routed;
      svc = routed.svc;
      const op = match.operation;
      const handler = svc.handlers[op.name];
      if (!handler) {
        return send(reply, requestId, plainError(501, 'NotImplementedException', `meadow does not implement ${svc.model.id} ${op.name} yet.`));
      }
      const { input, violations } = svc.codec.parseInput(op, { labels: match.labels, query: parseQuery(rawQuery), headers: req.headers, body });
      if (op.input) violations.push(...svc.validator.validateInput(op.input.shape, input));
      if (violations.length > 0) throw invalidFields(violations);
      await opts.authorize?.(caller, op.name, input);

      const ctx: RequestContext = {
        scope,
        store: opts.store,
        clock: opts.clock,
        requestId,
        operation: op.name,
        artifacts: opts.artifacts,
        downloads: opts.downloads,
        ca: opts.ca,
        baseUrl: opts.baseUrl?.() ?? `${req.protocol}://${req.headers.host ?? req.hostname}`,
      };
      const out = svc.codec.serializeOutput(op, (await handler(ctx, input)) ?? undefined);
      reply.code(out.status).headers({ ...out.headers, 'x-amzn-RequestId': requestId });
      return out.body === undefined ? reply.send() : reply.type('application/json').send(out.body);
    } catch (e) {
      return send(reply, requestId, toResponse(e, svc, req));
    }
  }

  function toResponse(e: unknown, svc: ServedService | undefined, req: FastifyRequest): AwsErrorResponse {
    if (e instanceof AuthError) return plainError(403, e.code, e.message);
    let err = e;
    if (e instanceof CannotParse || e instanceof BadPathEncoding) err = invalid(e.message, undefined, 'CANNOT_PARSE');
    if (!(err instanceof MeadowError)) {
      req.log.error({ err: e }, 'unexpected error while handling request');
      err = new MeadowError('Internal', 'An internal error occurred. The request may be retried.');
    }
    if (!svc) return plainError(400, 'SerializationException', (err as MeadowError).message);
    return toAwsError(err as MeadowError, svc.model, svc.codec, svc.errors);
  }

  app.all('/*', handle);
  app.all('/', handle);
}
