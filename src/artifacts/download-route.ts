// Serves artifact download URLs (see download-url.ts): GET or HEAD, whole objects or one byte range, so a
// device can resume a download. No AWS signature here: the URL's own signature is the authorization.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ArtifactError, parseRangeHeader, type ArtifactStore } from './artifact-store.js';
import { DOWNLOAD_PATH, type DownloadUrlSigner } from './download-url.js';

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).header('x-amzn-ErrorType', code).type('application/json').send(JSON.stringify({ message }));
}

export function registerDownloadRoute(app: FastifyInstance, artifacts: ArtifactStore, signer: DownloadUrlSigner): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: `${DOWNLOAD_PATH}/*`,
    handler: async (req, reply) => {
      const url = req.raw.url ?? '';
      const q = url.indexOf('?');
      const path = (q < 0 ? url : url.slice(0, q)).slice(DOWNLOAD_PATH.length);
      const check = signer.check(path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
      if (!check.ok) return refuse(reply, 403, 'AccessDeniedException', check.reason);
      const range = parseRangeHeader(req.headers.range);
      try {
        const obj = await artifacts.getObject(check.bucket, check.key, range);
        reply.header('accept-ranges', 'bytes').header('etag', `"${obj.etag}"`).header('last-modified', obj.lastModified.toUTCString());
        reply.type(obj.contentType);
        if (obj.range) {
          reply.code(206).header('content-range', `bytes ${obj.range.start}-${obj.range.end}/${obj.size}`);
          reply.header('content-length', obj.range.end - obj.range.start + 1);
        } else {
          reply.header('content-length', obj.size);
        }
        if (req.method === 'HEAD') {
          obj.stream.destroy();
          return reply.send();
        }
        return reply.send(obj.stream);
      } catch (e) {
        if (!(e instanceof ArtifactError)) throw e;
        if (e.code === 'InvalidRange') return refuse(reply.header('content-range', `bytes */${e.details.ActualObjectSize}`), 416, 'InvalidRange', e.message);
        return refuse(reply, 404, 'ResourceNotFoundException', `The artifact ${check.bucket}/${check.key} no longer exists.`);
      }
    },
  });
}
