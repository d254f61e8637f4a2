import type { ByteRange } from '../errors/parallel-get-error.ts';
import { RevisionChangedError } from '../errors/revision-changed-error.ts';
import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { parseContentLength, parseContentRange, parseRetryAfter } from './content-range.ts';
import { type Pin, pinMismatch } from './validators.ts';

/**
 * The checks every response passes before a byte of it is kept: what the server must have sent
 * for the bytes to be the ones asked for, of the revision pinned.
 */

/** RFC 9110 §15.5.9, §15.5.20, §15.6: worth another try after a pause. */
export const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export function isEncoded(headers: Headers): boolean {
	const encoding = headers.get('content-encoding')?.trim().toLowerCase();
	return encoding !== undefined && encoding !== '' && encoding !== 'identity';
}

/** An error status: 408/425/429/5xx are worth another try (honouring Retry-After), others not. */
export function statusError(response: Response, range: ByteRange | undefined, url: string): UnexpectedResponseError {
	const { status } = response;
	const retryable = RETRYABLE_STATUS.has(status);
	const retryAfter = retryable ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
	return new UnexpectedResponseError(`status ${status}${response.statusText ? ` ${response.statusText}` : ''}`, {
		url,
		status,
		retryable,
		...(range ? { range } : {}),
		...(retryAfter === undefined ? {} : { retryAfter }),
	});
}

/** Ranges address encoded bytes and fetch decodes them: pieces would not line up. */
export function encodedError(response: Response, range: ByteRange, url: string): UnexpectedResponseError {
	return new UnexpectedResponseError(`a partial body with Content-Encoding ${response.headers.get('content-encoding')}`, {
		url,
		range,
		status: response.status,
	});
}

/**
 * Total size from the discovery 206, checked against the request and against the caller's
 * `size`. `size` is undefined when no total can be read: a Content-Range hidden by CORS (not in
 * Access-Control-Expose-Headers) or saying `/*`, with no `size` given. `fromCaller` says that the
 * caller's size stands in for a hidden Content-Range.
 */
export function discoveredSize(response: Response, asked: ByteRange, url: string, known: number | undefined): { size: number | undefined; fromCaller: boolean } {
	const header = response.headers.get('content-range');
	const parsed = parseContentRange(header);
	const context = { url, range: asked, status: response.status };
	if (header !== null && !parsed?.range) {
		throw new UnexpectedResponseError(`unusable Content-Range \`${header}\``, { ...context, contentRange: header });
	}
	if (!parsed?.range || parsed.size === undefined) {
		// Content-Length is readable cross-origin. Shorter than asked: the range was cut at the end
		// of the object, so this body is all of it. Otherwise the caller's size stands in.
		const length = parseContentLength(response.headers.get('content-length'));
		const askedLength = asked.end - asked.start + 1;
		if (known === undefined) {
			return { size: header === null && length !== undefined && length < askedLength ? length : undefined, fromCaller: false };
		}
		const expected = Math.min(known, asked.end + 1) - asked.start;
		if (length !== undefined && length !== expected) {
			throw new UnexpectedResponseError(`Content-Length ${length} does not match the size given (${known})`, context);
		}
		return { size: known, fromCaller: header === null };
	}
	const expectedEnd = Math.min(asked.end, parsed.size - 1);
	if (parsed.range.start !== asked.start || parsed.range.end !== expectedEnd) {
		throw new UnexpectedResponseError(`Content-Range \`${header}\` is not the range asked for`, { ...context, contentRange: header ?? undefined, retryable: true });
	}
	if (known !== undefined && known !== parsed.size) {
		throw new UnexpectedResponseError(`the object has ${parsed.size} bytes, not the ${known} given as \`size\``, { ...context, contentRange: header ?? undefined });
	}
	return { size: parsed.size, fromCaller: false };
}

/**
 * The caller's `size` against the one response that carries the whole object (`single` mode):
 * `length` is what the response says (Content-Length) or, once it ended, what it brought;
 * undefined while it cannot be known (an encoded or cross-origin body, still being read).
 */
export function checkWholeSize(response: Response, length: number | undefined, url: string, known: number | undefined): void {
	if (known === undefined || length === undefined || length === known) return;
	throw new UnexpectedResponseError(`the object has ${length} bytes, not the ${known} given as \`size\``, { url, status: response.status });
}

/** What a pinned range request must come back with. */
export interface Expected {
	url: string;
	pin: Pin | undefined;
	size: number | undefined;
	/** The caller's `size` stands in for a Content-Range that CORS hides. */
	totalFromCaller: boolean;
}

/**
 * RFC 9110 §15.3.7 and §14.4: a 206 for exactly the range asked, of the pinned revision (same
 * total, same validator), not encoded. A 412 is the server's own verdict that the revision
 * changed (§13.1.1).
 */
export function checkPartial(response: Response, range: ByteRange, expected: Expected): void {
	const { status, headers } = response;
	const context = { url: expected.url, range, status };
	if (status === 412) throw new RevisionChangedError('412 Precondition Failed', context);
	if (status === 200) {
		// A replica or cache that ignores Range: retried a few times, never spliced in.
		throw new UnexpectedResponseError('the server ignored Range (200)', { ...context, retryable: true });
	}
	if (status !== 206) throw statusError(response, range, expected.url);
	if (isEncoded(headers)) throw encodedError(response, range, expected.url);
	const mismatch = expected.pin ? pinMismatch(expected.pin, headers) : undefined;
	if (mismatch) {
		throw new RevisionChangedError(`${mismatch.what} ${mismatch.received} differs from ${mismatch.expected}`, {
			...context,
			expected: mismatch.expected,
			received: mismatch.received,
		});
	}
	const header = headers.get('content-range');
	const expectedLength = range.end - range.start + 1;
	const length = parseContentLength(headers.get('content-length'));
	if (header === null && expected.totalFromCaller) {
		// Hidden by CORS: the length stands for Content-Range (the last range was asked for
		// open-ended, so its length shows where the object ends). Not the caller's size, or not the
		// same object any more: no retry will change that.
		if (length !== undefined && length !== expectedLength) {
			throw new UnexpectedResponseError(
				`Content-Length ${length} for a ${expectedLength}-byte range: the object is not the ${expected.size} bytes given as \`size\`, or it changed`,
				context,
			);
		}
		return;
	}
	const parsed = parseContentRange(header);
	if (!parsed?.range) {
		throw new UnexpectedResponseError(header === null ? 'a 206 without Content-Range' : `unusable Content-Range \`${header}\``, {
			...context,
			...(header === null ? {} : { contentRange: header }),
		});
	}
	if (parsed.size !== undefined && parsed.size !== expected.size) {
		throw new RevisionChangedError(`the size is now ${parsed.size}, not ${expected.size}`, {
			...context,
			expected: String(expected.size),
			received: String(parsed.size),
		});
	}
	if (parsed.range.start !== range.start || parsed.range.end !== range.end) {
		throw new UnexpectedResponseError(`Content-Range \`${header}\` is not the range asked for`, { ...context, contentRange: header ?? undefined, retryable: true });
	}
	if (length !== undefined && length !== expectedLength) {
		throw new UnexpectedResponseError(`Content-Length ${length} for a ${expectedLength}-byte range`, { ...context, retryable: true });
	}
}
