import type { ByteRange } from '../errors/parallel-get-error.ts';
import { RevisionChangedError } from '../errors/revision-changed-error.ts';
import { type Algorithm, type ExpectedDigest, encode, fromBase64, ofLength, strongest } from '../integrity/digest.ts';
import { declaresDigest, RANGE_DIGEST_HEADERS } from './digest-headers.ts';

/**
 * Digests of the whole object that servers declare, and the headers that carry them. Only a
 * value that covers every byte of the object is taken, never one of the part a response carries:
 * - RFC 9530 `Repr-Digest` (`sha-256`, `sha-512`): of the selected representation, so valid on a 206;
 * - RFC 9530 `Content-Digest`: of this response's content, so only on a 200;
 * - Google Cloud Storage `x-goog-hash` (`crc32c=`, `md5=`): of the stored object, on ranges too;
 * - Azure `x-ms-blob-content-md5`: the blob's MD5, on ranges too;
 * - `Content-MD5` (RFC 1864): of this body, so only on a 200;
 * - S3 `x-amz-checksum-{sha256,crc64nvme,crc32c}`: S3 sends them for a whole GET only; a
 *   composite checksum (a checksum of the parts' checksums, `<base64>-<parts>`) is not a digest
 *   of the bytes and is ignored.
 * None is taken from a response that `declaresDigest` rules out (an encoded body, a cross-origin
 * 200). This module is loaded with the hash code (`integrity/verifier.ts`), only where a response
 * carries one of these headers: a download without a digest parses none of them.
 */

const DIGEST_FIELD_ALGORITHMS: Record<string, Algorithm> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** A digest a header declares: every one of them is written in base64. */
function declared(algorithm: Algorithm, bytes: Uint8Array, source: string): ExpectedDigest {
	return { algorithm, values: [bytes], encoding: 'base64', source };
}

/** An RFC 9530 dictionary (`sha-256=:<base64>:, sha-512=:<base64>:`); unknown keys and bad members are skipped. */
function digestField(value: string, source: string): ExpectedDigest[] {
	const found: ExpectedDigest[] = [];
	for (const member of value.split(',')) {
		const match = /^\s*([a-z0-9-]+)=:([A-Za-z0-9+/=]*):\s*(?:;.*)?$/i.exec(member);
		const algorithm = DIGEST_FIELD_ALGORITHMS[match?.[1]?.toLowerCase() ?? ''];
		const bytes = algorithm ? ofLength(algorithm, fromBase64(match?.[2] ?? '')) : undefined;
		if (algorithm && bytes) found.push(declared(algorithm, bytes, source));
	}
	return found;
}

/** `crc32c=<base64>, md5=<base64>` (fetch joins several x-goog-hash headers with commas). */
function googHash(value: string): ExpectedDigest[] {
	const found: ExpectedDigest[] = [];
	for (const member of value.split(',')) {
		const match = /^\s*(crc32c|md5)=([A-Za-z0-9+/=]+)\s*$/i.exec(member);
		const algorithm = match?.[1]?.toLowerCase() as Algorithm | undefined;
		const bytes = algorithm ? ofLength(algorithm, fromBase64(match?.[2] ?? '')) : undefined;
		if (algorithm && bytes) found.push(declared(algorithm, bytes, 'x-goog-hash'));
	}
	return found;
}

function single(headers: Headers, name: string, algorithm: Algorithm): ExpectedDigest[] {
	// `Headers.get` strips the whitespace around a value: no trimming here.
	const bytes = ofLength(algorithm, fromBase64(headers.get(name) ?? ''));
	return bytes ? [declared(algorithm, bytes, name)] : [];
}

/** Every whole-object digest in `headers` of a response with `status`. */
function digestsIn(headers: Headers, status: number, only?: readonly string[]): ExpectedDigest[] {
	const found: ExpectedDigest[] = [];
	const wanted = (name: string): boolean => (only === undefined || only.includes(name)) && headers.has(name);
	if (wanted('repr-digest')) found.push(...digestField(headers.get('repr-digest') as string, 'repr-digest'));
	if (wanted('x-goog-hash')) found.push(...googHash(headers.get('x-goog-hash') as string));
	if (wanted('x-ms-blob-content-md5')) found.push(...single(headers, 'x-ms-blob-content-md5', 'md5'));
	if (status !== 200) return found;
	if (wanted('content-digest')) found.push(...digestField(headers.get('content-digest') as string, 'content-digest'));
	if (wanted('content-md5')) found.push(...single(headers, 'content-md5', 'md5'));
	// A composite checksum ends in `-<parts>`, which is not base64: `single` skips it.
	if (headers.get('x-amz-checksum-type')?.toUpperCase() !== 'COMPOSITE') {
		for (const algorithm of ['sha256', 'crc64nvme', 'crc32c'] as const) {
			if (wanted(`x-amz-checksum-${algorithm}`)) found.push(...single(headers, `x-amz-checksum-${algorithm}`, algorithm));
		}
	}
	return found;
}

/** The strongest whole-object digest a response declares, if any (see above for which count). */
export function serverDigest(response: Response): ExpectedDigest | undefined {
	return declaresDigest(response) ? strongest(digestsIn(response.headers, response.status)) : undefined;
}

/**
 * A later range response of a download whose discovery declared `digest`: the same header, if
 * it is there, must declare the same value. Another value is another revision. A response
 * without the header is not held against the object (a proxy may drop it).
 */
export function checkDigestUnchanged(response: Response, digest: ExpectedDigest | undefined, range: ByteRange, url: string): void {
	if (!digest || !RANGE_DIGEST_HEADERS.includes(digest.source)) return;
	const now = digestsIn(response.headers, response.status, [digest.source]).filter((found) => found.algorithm === digest.algorithm);
	const value = now[0]?.values[0];
	if (value === undefined) return;
	const received = encode(value, 'base64');
	const expected = encode(digest.values[0] as Uint8Array, 'base64');
	if (received === expected) return;
	throw new RevisionChangedError(`${digest.source} ${digest.algorithm} ${received} differs from ${expected}`, { url, range, status: response.status, expected, received });
}
