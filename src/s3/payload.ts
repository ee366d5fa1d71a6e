// An S3 request body, checked while it streams: the SHA-256 the signature covers, or the aws-chunked framing
// and its chain of chunk signatures, plus any x-amz-checksum-* and Content-MD5 the client sent and the
// length it announced. Every check that can only be made at the end runs before the stream ends, so a store
// reading it fails, and keeps nothing, rather than saving a body that did not verify.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { chunkSignature, signaturesEqual, trailerSignature, type ChunkSigning, type PayloadCheck } from '../wire/sigv4.js';
import { checksumForHeader, CHECKSUM_HEADERS, type Checksum } from './checksums.js';
import { S3Error } from './errors.js';

type Headers = Record<string, string | string[] | undefined>;

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_LINE = 8 * 1024;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

const incomplete = (message: string) => new S3Error('IncompleteBody', 400, message);
const malformedChunks = (message: string) => new S3Error('InvalidChunkSizeError', 400, `The aws-chunked body is malformed: ${message}`);
const badChunkSignature = () =>
  new S3Error('SignatureDoesNotMatch', 403, 'The chunk signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');

/**
 * Decodes an aws-chunked body: `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` repeated, a zero-size chunk,
 * then optional trailing headers and an empty line. With signing, every chunk's signature is checked.
 */
export class AwsChunkedDecoder {
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSig: string | undefined;
  private previousSig: string | undefined;
  private trailerText = '';
  private trailerSig: string | undefined;
  readonly trailers = new Map<string, string>();

  constructor(
    private readonly signing: ChunkSigning | undefined,
    private readonly signedTrailer: boolean,
  ) {
    this.previousSig = signing?.seedSignature;
  }

  write(input: Buffer, emit: (data: Buffer) => void): void {
    let at = 0;
    while (at < input.length) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, input.length - at);
        const piece = input.subarray(at, at + n);
        this.chunkHash?.update(piece);
        emit(piece);
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          this.checkChunk(this.chunkHash?.digest('hex'));
          this.state = 'data-end';
        }
        continue;
      }
      if (this.state === 'done') throw malformedChunks('data follows the final chunk.');
      const nl = input.indexOf(0x0a, at);
      const end = nl < 0 ? input.length : nl + 1;
      this.line = this.line.length === 0 ? input.subarray(at, end) : Buffer.concat([this.line, input.subarray(at, end)]);
      at = end;
      if (this.line.length > MAX_LINE) throw malformedChunks('a chunk header or trailer line is too long.');
      if (nl < 0) continue;
      if (this.line.length < 2 || this.line[this.line.length - 2] !== 0x0d) throw malformedChunks('lines must end in CRLF.');
      const text = this.line.subarray(0, this.line.length - 2).toString('latin1');
      this.line = Buffer.alloc(0);
      this.onLine(text);
    }
  }

  /** Call at the end of the input: throws unless the body ended properly. */
  end(): void {
    if (this.state === 'done') return;
    // Some SDKs end an unsigned body right after the zero chunk when they send no trailer.
    if (this.state === 'trailer' && this.line.length === 0 && this.trailers.size === 0 && !this.signedTrailer) return;
    throw incomplete('The aws-chunked body ended before its final zero-length chunk and trailer.');
  }

  private onLine(text: string): void {
    switch (this.state) {
      case 'size': {
        const m = /^([0-9a-fA-F]{1,15})(?:;(.*))?$/.exec(text);
        if (!m) throw malformedChunks(`'${text.slice(0, 40)}' is not a chunk size.`);
        const size = parseInt(m[1], 16);
        if (this.signing) {
          const sig = /(?:^|;)chunk-signature=([0-9a-f]{64})(?:;|$)/.exec(m[2] ?? '')?.[1];
          if (!sig) throw new S3Error('IncompleteSignature', 400, 'Each chunk of a signed aws-chunked body needs a chunk-signature.');
          this.chunkSig = sig;
        }
        if (size === 0) {
          this.checkChunk(EMPTY_SHA256);
          this.state = 'trailer';
        } else {
          this.remaining = size;
          this.chunkHash = this.signing ? createHash('sha256') : undefined;
          this.state = 'data';
        }
        return;
      }
      case 'data-end':
        if (text !== '') throw malformedChunks('a chunk is longer than its declared size.');
        this.state = 'size';
        return;
      case 'trailer': {
        if (text === '') {
          this.checkTrailerSignature();
          this.state = 'done';
          return;
        }
        const colon = text.indexOf(':');
        if (colon <= 0) throw malformedChunks(`'${text.slice(0, 40)}' is not a trailing header.`);
        const name = text.slice(0, colon).trim().toLowerCase();
        const value = text.slice(colon + 1).trim();
        if (name === 'x-amz-trailer-signature') {
          this.trailerSig = value;
        } else {
          this.trailers.set(name, value);
          this.trailerText += `${name}:${value}\n`;
        }
        return;
      }
    }
  }

  private checkChunk(sha256Hex: string | undefined): void {
    if (!this.signing || sha256Hex === undefined) return;
    const expected = chunkSignature(this.signing, this.previousSig!, sha256Hex);
    if (!signaturesEqual(expected, this.chunkSig ?? '')) throw badChunkSignature();
    this.previousSig = expected;
  }

  private checkTrailerSignature(): void {
    if (!this.signing || !this.signedTrailer) return;
    const expected = trailerSignature(this.signing, this.previousSig!, this.trailerText);
    if (!signaturesEqual(expected, this.trailerSig ?? '')) throw badChunkSignature();
  }
}

/** Announced length of the decoded body, when the request states it. */
export function declaredLength(payload: PayloadCheck, headers: Headers): number | undefined {
  const raw = first(payload.kind === 'chunked' ? headers['x-amz-decoded-content-length'] : headers['content-length']);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new S3Error('InvalidArgument', 400, `${payload.kind === 'chunked' ? 'x-amz-decoded-content-length' : 'Content-Length'} must be a whole number of bytes, not '${raw}'.`);
  }
  return n;
}

interface ExpectedChecksum {
  name: string;
  checksum: Checksum;
  /** From the header; undefined when it comes in the trailer. */
  value: string | undefined;
}

function expectedChecksums(payload: PayloadCheck, headers: Headers): ExpectedChecksum[] {
  const out: ExpectedChecksum[] = [];
  for (const name of CHECKSUM_HEADERS) {
    const value = first(headers[name]);
    if (value !== undefined) out.push({ name, checksum: checksumForHeader(name)!, value });
  }
  const trailer = first(headers['x-amz-trailer']);
  if (trailer !== undefined) {
    if (payload.kind !== 'chunked' || !payload.trailer) {
      throw new S3Error('InvalidRequest', 400, 'x-amz-trailer needs an aws-chunked body with a trailer (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER).');
    }
    for (const name of trailer.split(',').map((n) => n.trim().toLowerCase())) {
      const checksum = checksumForHeader(name);
      if (!name.startsWith('x-amz-checksum-') || !checksum) {
        throw new S3Error('InvalidRequest', 400, `The trailing header '${name}' is not one meadow checks; use one of ${CHECKSUM_HEADERS.join(', ')}.`);
      }
      out.push({ name, checksum, value: undefined });
    }
  }
  return out;
}

class VerifyingBody extends Transform {
  private size = 0;
  private readonly sha256: Hash | undefined;
  private readonly md5: Hash | undefined;

  constructor(
    private readonly payload: PayloadCheck,
    private readonly decoder: AwsChunkedDecoder | undefined,
    private readonly checksums: ExpectedChecksum[],
    private readonly contentMd5: string | undefined,
    private readonly length: number | undefined,
  ) {
    super();
    this.sha256 = payload.kind === 'sha256' ? createHash('sha256') : undefined;
    this.md5 = contentMd5 !== undefined ? createHash('md5') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.decoder) this.decoder.write(chunk, (data) => this.accept(data));
      else this.accept(chunk);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private accept(data: Buffer): void {
    this.size += data.length;
    if (this.length !== undefined && this.size > this.length) throw incomplete(`The body is longer than the ${this.length} bytes announced.`);
    this.sha256?.update(data);
    this.md5?.update(data);
    for (const c of this.checksums) c.checksum.update(data);
    this.push(data);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decoder?.end();
      this.checkEnd();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private checkEnd(): void {
    if (this.length !== undefined && this.size !== this.length) {
      throw incomplete(`You did not provide the number of bytes announced: ${this.length} were announced, ${this.size} arrived.`);
    }
    if (this.sha256) {
      const computed = this.sha256.digest('hex');
      if (this.payload.kind === 'sha256' && computed !== this.payload.hex) {
        throw new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: this.payload.hex,
          S3ComputedContentSHA256: computed,
        });
      }
    }
    if (this.md5 && this.md5.digest('base64') !== this.contentMd5) {
      throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
    }
    for (const c of this.checksums) {
      const expected = c.value ?? this.decoder?.trailers.get(c.name);
      if (expected === undefined) throw new S3Error('InvalidRequest', 400, `The trailing header ${c.name} announced in x-amz-trailer was not sent.`);
      if (c.checksum.digest() !== expected) {
        const algorithm = c.name.replace('x-amz-checksum-', '').toUpperCase();
        throw new S3Error('BadDigest', 400, `The ${algorithm} you specified did not match the calculated checksum.`);
      }
    }
  }
}

/**
 * The decoded body of a request, which errors (with the S3 error to send) instead of ending when anything
 * about it does not verify. The request stream is piped, not owned: on failure it is left to the caller,
 * who can drain it and still answer.
 */
export function verifiedBody(raw: Readable, payload: PayloadCheck, headers: Headers): Readable {
  const decoder = payload.kind === 'chunked' ? new AwsChunkedDecoder(payload.signing, payload.trailer && payload.signing !== undefined) : undefined;
  const contentMd5 = first(headers['content-md5']);
  if (contentMd5 !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(contentMd5)) {
    throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified is not valid: it must be the base64 of a 16-byte MD5.');
  }
  const body = new VerifyingBody(payload, decoder, expectedChecksums(payload, headers), contentMd5, declaredLength(payload, headers));
  // Whoever reads the body sees its error; this listener only keeps an unread failure from crashing meadow.
  body.on('error', () => {});
  raw.on('error', (e) => body.destroy(e));
  raw.on('close', () => {
    if (!raw.readableEnded) body.destroy(incomplete('The connection closed before the whole body arrived.'));
  });
  raw.pipe(body);
  return body;
}

/** Reads a small verified body (an XML document) whole, refusing one over `limit` bytes. */
export async function readSmallBody(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 400, `Your request was too big: this request's body may be at most ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
