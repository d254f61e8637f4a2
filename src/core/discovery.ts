import type { ByteRange } from '../errors/parallel-get-error.ts';
import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { discoveredSize, encodedError, isEncoded, statusError } from '../http/checks.ts';
import { parseContentLength, parseContentRange } from '../http/content-range.ts';
import { type Pin, pinFromHeaders } from '../http/validators.ts';
import type { NormalizedOptions } from './options.ts';

/**
 * Discovery: no HEAD; the first chunk is asked for as a range, and its answer decides the mode
 * (cachew#360). These are the rules, as pure functions of that answer; the engine acts on them.
 */

/** What discovery learned about the object. */
export interface DownloadInfo {
	/** Bytes in the object; undefined when the server did not say (a 200 without Content-Length, or an encoded body). */
	size: number | undefined;
	etag?: string;
	lastModified?: string;
	contentType?: string;
	/**
	 * `parallel`: range requests in parallel, pinned to one revision. `single`: one response
	 * carries the whole object (server ignored Range, object no larger than one chunk, no strong
	 * validator, or `concurrency: 1`). `empty`: a 0-byte object.
	 */
	mode: 'parallel' | 'single' | 'empty';
	/**
	 * The digest the bytes are verified against: `source` is `integrity` (the option) or the
	 * response header that declared it (`repr-digest`, `x-goog-hash`, ...); `value` as written there.
	 */
	digest?: { algorithm: string; source: string; value: string };
	/**
	 * A resumed download (`resume`): the offset its stream starts at. `size` is still the whole
	 * object's; the stream yields `size - resumedFrom` bytes. Always `mode: 'parallel'`.
	 */
	resumedFrom?: number;
}

/**
 * What the first response says to do:
 * - `empty`: a 0-byte object (416, or a total of 0);
 * - `whole`: the server ignored Range (200), so this body is the object: streamed, never asked twice;
 * - `plain`: the whole object must come from one plain GET instead, decided before any byte of
 *   this response is handed out. No strong validator: a second request could come from another
 *   revision and be spliced undetected. No readable total (cross-origin, Content-Range not
 *   exposed): the chunks cannot be laid out;
 * - `ranges`: chunks on parallel range requests, pinned to `pin`.
 */
export type Discovered =
	| { readonly mode: 'empty' }
	| { readonly mode: 'whole' }
	| { readonly mode: 'plain' }
	| { readonly mode: 'ranges'; readonly size: number; readonly pin: Pin; readonly totalFromCaller: boolean };

/** Classifies the answer to `bytes=0-(chunkSize - 1)`; throws the verdict on an answer that cannot be used. */
export function classifyDiscovery(
	response: Response,
	range: ByteRange,
	url: string,
	options: Pick<NormalizedOptions, 'chunkSize' | 'size' | 'allowUnpinned'>,
): Discovered {
	const { status, headers } = response;
	if (status === 416) {
		// RFC 9110 §14.1.1: only an empty representation makes `bytes=0-N` unsatisfiable.
		const header = headers.get('content-range');
		const parsed = parseContentRange(header);
		if (parsed?.size !== undefined && parsed.size !== 0) {
			throw new UnexpectedResponseError(`416 for the first bytes of an object said to hold ${parsed.size}`, {
				url,
				status: 416,
				contentRange: header ?? undefined,
			});
		}
		return { mode: 'empty' };
	}
	if (status === 200) return { mode: 'whole' };
	if (status !== 206) throw statusError(response, range, url);
	if (isEncoded(headers)) throw encodedError(response, range, url);
	const { size, fromCaller } = discoveredSize(response, range, url, options.size);
	const pin = pinFromHeaders(headers);
	if (size === 0) return { mode: 'empty' };
	const unpinned = size !== undefined && size > options.chunkSize && pin.kind === 'none' && !options.allowUnpinned;
	if (size === undefined || unpinned) return { mode: 'plain' };
	return { mode: 'ranges', size, pin, totalFromCaller: fromCaller };
}

/**
 * The length of a response that carries the whole object, when it can be trusted. An encoded body
 * is decoded by fetch: Content-Length then counts encoded bytes. Cross-origin, Content-Encoding is
 * unreadable unless exposed, so Content-Length proves nothing there: the body is read to its end
 * (fetch itself checks the length on the wire).
 */
export function wholeLength(response: Response): number | undefined {
	const encoded = isEncoded(response.headers) || response.type === 'cors';
	return encoded ? undefined : parseContentLength(response.headers.get('content-length'));
}

export function describe(response: Response, size: number | undefined, mode: DownloadInfo['mode']): DownloadInfo {
	const info: DownloadInfo = { size, mode };
	const etag = response.headers.get('etag');
	const lastModified = response.headers.get('last-modified');
	const contentType = response.headers.get('content-type');
	if (etag) info.etag = etag;
	if (lastModified) info.lastModified = lastModified;
	if (contentType) info.contentType = contentType;
	return info;
}
