import { isEncoded } from './checks.ts';

/**
 * Which responses may declare a digest of the whole object, by their headers' names alone: the
 * cheap test every download makes. The values are parsed (`digests.ts`) only where one is present,
 * by the code loaded with the hash, so that a download without a digest loads none of it.
 */

/** Of the whole object, so valid on a 206 too: compared on every response (a change is a new revision). */
export const RANGE_DIGEST_HEADERS = ['repr-digest', 'x-goog-hash', 'x-ms-blob-content-md5'];

/** Of this body: of the whole object only on a 200. */
export const WHOLE_DIGEST_HEADERS = ['content-digest', 'content-md5', 'x-amz-checksum-sha256', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-crc32c'];

/** The value is asked for in this order of preference, RFC 9530 §4. */
export const WANT_REPR_DIGEST = 'sha-512=3, sha-256=5';

/**
 * Whether `response` carries a header that may declare a digest of the whole object: a 200 or a
 * 206 of bytes as they were stored (fetch hands out decoded bytes, a digest is of the encoded
 * ones), not a cross-origin 200, whose Content-Encoding CORS may hide.
 */
export function declaresDigest(response: Response): boolean {
	const { status, headers } = response;
	if ((status !== 200 && status !== 206) || isEncoded(headers)) return false;
	if (status === 200 && response.type === 'cors') return false;
	const has = (name: string): boolean => headers.has(name);
	return RANGE_DIGEST_HEADERS.some(has) || (status === 200 && WHOLE_DIGEST_HEADERS.some(has));
}

/**
 * Whether `Want-Repr-Digest` may be sent to `url` for free: it is not a CORS-safelisted header,
 * so a browser would send a preflight for a cross-origin request that needs none today (the
 * discovery request, whose single `Range` is safelisted). Where there is no page (Node, Bun,
 * Deno without `--location`) there is no CORS; in a page or worker, only to its own origin.
 */
export function mayWantDigest(url: string): boolean {
	const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
	return origin === undefined || new URL(url).origin === origin;
}
