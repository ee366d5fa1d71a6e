// The additional checksums S3 clients send with a body (x-amz-checksum-<algorithm>, as a header or an
// aws-chunked trailer): base64 of the digest, CRCs as big-endian bytes. meadow checks each one it receives.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export interface Checksum {
  update(data: Buffer): void;
  /** Base64 of the digest, as x-amz-checksum-* headers carry it. */
  digest(): string;
}

/** Table for a reflected CRC of up to 32 bits. */
function crcTable32(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

const CRC32C_TABLE = crcTable32(0x82f63b78);

function crc32c(): Checksum {
  let crc = 0xffffffff;
  return {
    update(data) {
      for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    },
    digest: () => uint32(~crc >>> 0),
  };
}

// CRC-64/NVME, reflected, kept as two 32-bit halves so each byte costs no BigInt arithmetic.
const CRC64_POLY = 0x9a6c9329ac4bc9b5n;
const [CRC64_HI, CRC64_LO] = (() => {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64_POLY : c >> 1n;
    hi[i] = Number(c >> 32n);
    lo[i] = Number(c & 0xffffffffn);
  }
  return [hi, lo];
})();

function crc64nvme(): Checksum {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  return {
    update(data) {
      for (let i = 0; i < data.length; i++) {
        const idx = (lo ^ data[i]) & 0xff;
        lo = (CRC64_LO[idx] ^ ((lo >>> 8) | (hi << 24))) >>> 0;
        hi = (CRC64_HI[idx] ^ (hi >>> 8)) >>> 0;
      }
    },
    digest() {
      const out = Buffer.alloc(8);
      out.writeUInt32BE(~hi >>> 0, 0);
      out.writeUInt32BE(~lo >>> 0, 4);
      return out.toString('base64');
    },
  };
}

function uint32(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
}

function hashed(algorithm: string): Checksum {
  const hash: Hash = createHash(algorithm);
  return { update: (d) => hash.update(d), digest: () => hash.digest('base64') };
}

const ALGORITHMS: Record<string, () => Checksum> = {
  crc32: () => {
    let crc = 0;
    return { update: (d) => (crc = crc32(d, crc)), digest: () => uint32(crc) };
  },
  crc32c,
  crc64nvme,
  sha1: () => hashed('sha1'),
  sha256: () => hashed('sha256'),
};

/** The header names S3 uses: x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256. */
export const CHECKSUM_HEADERS = Object.keys(ALGORITHMS).map((a) => `x-amz-checksum-${a}`);

/** A running checksum for header `x-amz-checksum-<algorithm>`, or undefined for an algorithm S3 lacks. */
export function checksumForHeader(name: string): Checksum | undefined {
  const algorithm = name.toLowerCase().replace(/^x-amz-checksum-/, '');
  return Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm]() : undefined;
}
