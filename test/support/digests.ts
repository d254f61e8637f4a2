/**
 * Reference digests for the test origin, independent of the library's hash code: SHA-2 and MD5
 * from node:crypto, CRC-32C and CRC-64/NVME table-driven here (checked against their catalogue
 * check values in test/integrity.test.ts).
 */
import { createHash } from 'node:crypto';

function crc32cTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32C_TABLE = crc32cTable();

/** CRC-32C (Castagnoli), big-endian bytes. Check value of "123456789": e3069283. */
export function crc32c(bytes: Uint8Array): Uint8Array {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return new Uint8Array([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
}

/** CRC-64/NVME as two 32-bit halves (no BigInt per byte): reflected polynomial 0x9a6c9329ac4bc9b5. */
const CRC64_TABLE = (() => {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      const odd = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h >>>= 1;
      if (odd) {
        h = (h ^ 0x9a6c9329) >>> 0;
        l = (l ^ 0xac4bc9b5) >>> 0;
      }
    }
    hi[n] = h;
    lo[n] = l;
  }
  return { hi, lo };
})();

/** CRC-64/NVME (S3's default full-object checksum), big-endian bytes. Check value of "123456789": ae8b14860a799888. */
export function crc64nvme(bytes: Uint8Array): Uint8Array {
  let h = 0xffffffff;
  let l = 0xffffffff;
  for (const byte of bytes) {
    const i = (l ^ byte) & 0xff;
    l = ((l >>> 8) | ((h & 0xff) << 24)) >>> 0;
    h >>>= 8;
    h = (h ^ (CRC64_TABLE.hi[i] as number)) >>> 0;
    l = (l ^ (CRC64_TABLE.lo[i] as number)) >>> 0;
  }
  h = (h ^ 0xffffffff) >>> 0;
  l = (l ^ 0xffffffff) >>> 0;
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, h);
  new DataView(out.buffer).setUint32(4, l);
  return out;
}

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512' | 'md5' | 'crc32c' | 'crc64nvme';

export function digestOf(algorithm: DigestAlgorithm, bytes: Uint8Array): Uint8Array {
  if (algorithm === 'crc32c') return crc32c(bytes);
  if (algorithm === 'crc64nvme') return crc64nvme(bytes);
  return new Uint8Array(createHash(algorithm).update(bytes).digest());
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Digest headers the test origin can serve, each as its server sends it. Whole-object ones carry
 * the object's digest on every response; `content-digest` and `content-md5` carry the digest of
 * the bytes of this response (the part, on a 206), as RFC 9530 and RFC 1864 define them.
 */
export type DigestHeader =
  | 'repr-digest'
  | 'repr-digest-sha256'
  | 'content-digest'
  | 'x-goog-hash'
  | 'x-ms-blob-content-md5'
  | 'content-md5'
  | 'x-amz-checksum-sha256'
  | 'x-amz-checksum-crc64nvme'
  | 'x-amz-checksum-crc32c'
  | 'x-amz-checksum-composite';

/** The header's name and value for `whole` (the object) and `part` (this response's bytes). */
export function digestHeader(kind: DigestHeader, whole: () => Uint8Array, part: () => Uint8Array): [string, string] {
  switch (kind) {
    case 'repr-digest':
      return ['Repr-Digest', `sha-256=:${base64(digestOf('sha256', whole()))}:, sha-512=:${base64(digestOf('sha512', whole()))}:`];
    case 'repr-digest-sha256':
      return ['Repr-Digest', `sha-256=:${base64(digestOf('sha256', whole()))}:`];
    case 'content-digest':
      return ['Content-Digest', `sha-256=:${base64(digestOf('sha256', part()))}:`];
    case 'x-goog-hash':
      return ['x-goog-hash', `crc32c=${base64(digestOf('crc32c', whole()))},md5=${base64(digestOf('md5', whole()))}`];
    case 'x-ms-blob-content-md5':
      return ['x-ms-blob-content-md5', base64(digestOf('md5', whole()))];
    case 'content-md5':
      return ['Content-MD5', base64(digestOf('md5', part()))];
    case 'x-amz-checksum-sha256':
      return ['x-amz-checksum-sha256', base64(digestOf('sha256', whole()))];
    case 'x-amz-checksum-crc64nvme':
      return ['x-amz-checksum-crc64nvme', base64(digestOf('crc64nvme', whole()))];
    case 'x-amz-checksum-crc32c':
      return ['x-amz-checksum-crc32c', base64(digestOf('crc32c', whole()))];
    case 'x-amz-checksum-composite':
      // A checksum of the parts' checksums, as S3 sends for a multipart upload: not of the bytes.
      return ['x-amz-checksum-crc32c', `${base64(digestOf('crc32c', whole().subarray(1)))}-3`];
  }
}
