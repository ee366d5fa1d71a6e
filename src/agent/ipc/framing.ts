// AWS event-stream message framing, the byte layer under Greengrass IPC:
//   prelude   total length (u32) | headers length (u32) | CRC32 of those 8 bytes
//   headers   name length (u8) | name | value type (u8) | value   (repeated)
//   payload
//   trailer   CRC32 of everything before it
// All integers big-endian. CRC32 is zlib's (node:zlib), so only the layout is written here.
import { crc32 } from 'node:zlib';

export type HeaderValue =
  | { type: 'boolean'; value: boolean }
  | { type: 'byte' | 'int16' | 'int32'; value: number }
  | { type: 'int64'; value: bigint }
  | { type: 'bytes'; value: Buffer }
  | { type: 'string'; value: string }
  | { type: 'timestamp'; value: Date }
  | { type: 'uuid'; value: Buffer };

/** Headers in wire order (a Record keeps insertion order). */
export type Headers = Record<string, HeaderValue>;

export interface EventStreamMessage {
  headers: Headers;
  payload: Buffer;
}

// Type tags of header values on the wire.
const TAG = { true: 0, false: 1, byte: 2, int16: 3, int32: 4, int64: 5, bytes: 6, string: 7, timestamp: 8, uuid: 9 } as const;

const PRELUDE_LENGTH = 12;
const TRAILER_LENGTH = 4;
/** aws-c-event-stream's limits: larger messages are refused by the SDK, so they are refused here too. */
export const MAX_MESSAGE_LENGTH = 16 * 1024 * 1024;
export const MAX_HEADERS_LENGTH = 128 * 1024;

export class FramingError extends Error {}

export const stringHeader = (value: string): HeaderValue => ({ type: 'string', value });
export const int32Header = (value: number): HeaderValue => ({ type: 'int32', value });

function encodeHeaders(headers: Headers): Buffer {
  const parts: Buffer[] = [];
  for (const [name, header] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length === 0 || nameBytes.length > 255) throw new FramingError(`header name "${name}" must be 1-255 bytes`);
    parts.push(Buffer.from([nameBytes.length]), nameBytes);
    let value: Buffer;
    switch (header.type) {
      case 'boolean':
        value = Buffer.from([header.value ? TAG.true : TAG.false]);
        break;
      case 'byte':
        value = Buffer.alloc(2);
        value.writeUInt8(TAG.byte, 0);
        value.writeInt8(header.value, 1);
        break;
      case 'int16':
        value = Buffer.alloc(3);
        value.writeUInt8(TAG.int16, 0);
        value.writeInt16BE(header.value, 1);
        break;
      case 'int32':
        value = Buffer.alloc(5);
        value.writeUInt8(TAG.int32, 0);
        value.writeInt32BE(header.value, 1);
        break;
      case 'int64':
        value = Buffer.alloc(9);
        value.writeUInt8(TAG.int64, 0);
        value.writeBigInt64BE(header.value, 1);
        break;
      case 'timestamp':
        value = Buffer.alloc(9);
        value.writeUInt8(TAG.timestamp, 0);
        value.writeBigInt64BE(BigInt(header.value.getTime()), 1);
        break;
      case 'uuid':
        if (header.value.length !== 16) throw new FramingError(`header "${name}": a UUID is 16 bytes`);
        value = Buffer.concat([Buffer.from([TAG.uuid]), header.value]);
        break;
      case 'bytes':
      case 'string': {
        const bytes = header.type === 'string' ? Buffer.from(header.value, 'utf8') : header.value;
        if (bytes.length > 0xffff) throw new FramingError(`header "${name}" value is longer than 65535 bytes`);
        value = Buffer.alloc(3 + bytes.length);
        value.writeUInt8(header.type === 'string' ? TAG.string : TAG.bytes, 0);
        value.writeUInt16BE(bytes.length, 1);
        bytes.copy(value, 3);
        break;
      }
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}

export function encodeMessage(message: EventStreamMessage): Buffer {
  const headers = encodeHeaders(message.headers);
  if (headers.length > MAX_HEADERS_LENGTH) throw new FramingError('headers exceed 128 KiB');
  const total = PRELUDE_LENGTH + headers.length + message.payload.length + TRAILER_LENGTH;
  if (total > MAX_MESSAGE_LENGTH) throw new FramingError('message exceeds 16 MiB');
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headers.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headers.copy(out, PRELUDE_LENGTH);
  message.payload.copy(out, PRELUDE_LENGTH + headers.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - TRAILER_LENGTH)), total - TRAILER_LENGTH);
  return out;
}

function decodeHeaders(bytes: Buffer): Headers {
  const headers: Headers = {};
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new FramingError('header section is truncated');
  };
  while (at < bytes.length) {
    need(1);
    const nameLength = bytes.readUInt8(at);
    at += 1;
    need(nameLength + 1);
    const name = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const tag = bytes.readUInt8(at);
    at += 1;
    switch (tag) {
      case TAG.true:
      case TAG.false:
        headers[name] = { type: 'boolean', value: tag === TAG.true };
        break;
      case TAG.byte:
        need(1);
        headers[name] = { type: 'byte', value: bytes.readInt8(at) };
        at += 1;
        break;
      case TAG.int16:
        need(2);
        headers[name] = { type: 'int16', value: bytes.readInt16BE(at) };
        at += 2;
        break;
      case TAG.int32:
        need(4);
        headers[name] = { type: 'int32', value: bytes.readInt32BE(at) };
        at += 4;
        break;
      case TAG.int64:
        need(8);
        headers[name] = { type: 'int64', value: bytes.readBigInt64BE(at) };
        at += 8;
        break;
      case TAG.timestamp:
        need(8);
        headers[name] = { type: 'timestamp', value: new Date(Number(bytes.readBigInt64BE(at))) };
        at += 8;
        break;
      case TAG.uuid:
        need(16);
        headers[name] = { type: 'uuid', value: Buffer.from(bytes.subarray(at, at + 16)) };
        at += 16;
        break;
      case TAG.bytes:
      case TAG.string: {
        need(2);
        const length = bytes.readUInt16BE(at);
        at += 2;
        need(length);
        const raw = bytes.subarray(at, at + length);
        headers[name] = tag === TAG.string ? { type: 'string', value: raw.toString('utf8') } : { type: 'bytes', value: Buffer.from(raw) };
        at += length;
        break;
      }
      default:
        throw new FramingError(`header "${name}" has unknown value type ${tag}`);
    }
  }
  return headers;
}

/** Splits a byte stream into messages; throws FramingError on a corrupt or oversized message. */
export class MessageDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): EventStreamMessage[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: EventStreamMessage[] = [];
    while (this.buffered.length >= PRELUDE_LENGTH) {
      const total = this.buffered.readUInt32BE(0);
      const headersLength = this.buffered.readUInt32BE(4);
      if (crc32(this.buffered.subarray(0, 8)) !== this.buffered.readUInt32BE(8)) throw new FramingError('prelude CRC mismatch');
      if (total > MAX_MESSAGE_LENGTH) throw new FramingError(`message of ${total} bytes exceeds 16 MiB`);
      if (headersLength > MAX_HEADERS_LENGTH || PRELUDE_LENGTH + headersLength + TRAILER_LENGTH > total) {
        throw new FramingError('headers length does not fit the message');
      }
      if (this.buffered.length < total) break;
      const frame = this.buffered.subarray(0, total);
      this.buffered = this.buffered.subarray(total);
      if (crc32(frame.subarray(0, total - TRAILER_LENGTH)) !== frame.readUInt32BE(total - TRAILER_LENGTH)) {
        throw new FramingError('message CRC mismatch');
      }
      const headersEnd = PRELUDE_LENGTH + headersLength;
      messages.push({
        headers: decodeHeaders(frame.subarray(PRELUDE_LENGTH, headersEnd)),
        payload: Buffer.from(frame.subarray(headersEnd, total - TRAILER_LENGTH)),
      });
    }
    return messages;
  }
}
