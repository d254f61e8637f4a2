import { describe, expect, it } from 'vitest';
import { parseContentLength, parseContentRange, parseRetryAfter, rangeHeader } from '../src/http/content-range.ts';
import { checkPartial } from '../src/http/checks.ts';
import { isStrongEtag, pinFromHeaders, pinHeaders, pinMismatch } from '../src/http/validators.ts';

describe('parseContentRange - RFC 9110 §14.4', () => {
	it.each([
		['bytes 0-99/1000', { range: { start: 0, end: 99 }, size: 1000 }],
		['bytes 10-10/11', { range: { start: 10, end: 10 }, size: 11 }],
		['bytes 0-99/*', { range: { start: 0, end: 99 }, size: undefined }],
		['bytes */0', { range: undefined, size: 0 }],
		['BYTES 5-9/10', { range: { start: 5, end: 9 }, size: 10 }],
	])('reads %s', (value, expected) => {
		expect(parseContentRange(value)).toEqual(expected);
	});

	it.each([[null], [''], ['bytes 9-5/10'], ['bytes 0-10/10'], ['bytes 0-1,3-4/10'], ['items 0-1/2'], ['bytes -5/10'], ['bytes 0-99999999999999999999/1']])(
		'refuses %o',
		(value) => {
			expect(parseContentRange(value)).toBeUndefined();
		},
	);

	it('writes the only CORS-safelisted Range form', () => {
		expect(rangeHeader({ start: 0, end: 1023 })).toBe('bytes=0-1023');
	});

	it('reads Content-Length and Retry-After', () => {
		expect(parseContentLength('123')).toBe(123);
		expect(parseContentLength('12a')).toBeUndefined();
		expect(parseContentLength(null)).toBeUndefined();
		expect(parseRetryAfter('3')).toBe(3000);
		const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
		expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:05 GMT', now)).toBe(5000);
		expect(parseRetryAfter('soon')).toBeUndefined();
	});
});

describe('validators - RFC 9110 §8.8 and §13.1', () => {
	it('pins a strong ETag with If-Match, never a weak one', () => {
		expect(isStrongEtag('"abc"')).toBe(true);
		expect(isStrongEtag('W/"abc"')).toBe(false);
		const strong = pinFromHeaders(new Headers({ etag: '"abc"', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }));
		expect(pinHeaders(strong)).toEqual({ 'if-match': '"abc"' });
	});

	it('falls back to If-Unmodified-Since only for a strong Last-Modified', () => {
		const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
		const old = pinFromHeaders(new Headers({ etag: 'W/"w"', 'last-modified': lastModified, date: 'Wed, 21 Oct 2015 07:28:01 GMT' }));
		expect(pinHeaders(old)).toEqual({ 'if-unmodified-since': lastModified });
		// Served in the same second it was modified: a second write could share the date.
		const fresh = pinFromHeaders(new Headers({ 'last-modified': lastModified, date: lastModified }));
		expect(fresh.kind).toBe('none');
		expect(pinHeaders(fresh)).toEqual({});
	});

	it('compares only the validator that pins', () => {
		const pin = pinFromHeaders(new Headers({ etag: '"a"', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }));
		expect(pinMismatch(pin, new Headers({ etag: '"a"', 'last-modified': 'Thu, 22 Oct 2015 07:28:00 GMT' }))).toBeUndefined();
		expect(pinMismatch(pin, new Headers({ etag: '"b"' }))).toEqual({ what: 'ETag', expected: '"a"', received: '"b"' });
		expect(pinMismatch(pin, new Headers())).toBeUndefined();
	});
});

describe('checkPartial - a pinned range answer, RFC 9110 §15.3.7', () => {
	const range = { start: 100, end: 199 };
	const expected = { url: 'http://127.0.0.1/x', pin: pinFromHeaders(new Headers({ etag: '"a"' })), size: 1000, totalFromCaller: false };
	const answer = (status: number, headers: Record<string, string>): Response => new Response(status === 412 ? null : 'x', { status, headers });
	const good = { etag: '"a"', 'content-range': 'bytes 100-199/1000', 'content-length': '100' };

	it('accepts exactly the range asked, of the pinned revision', () => {
		expect(() => checkPartial(answer(206, good), range, expected)).not.toThrow();
	});

	it.each([
		['a 412', answer(412, {}), 'RevisionChangedError', false],
		['another ETag', answer(206, { ...good, etag: '"b"' }), 'RevisionChangedError', false],
		['another total', answer(206, { ...good, 'content-range': 'bytes 100-199/1001' }), 'RevisionChangedError', false],
		['another range (a replica)', answer(206, { ...good, 'content-range': 'bytes 101-199/1000' }), 'UnexpectedResponseError', true],
		['a 200 (Range ignored)', answer(200, { etag: '"a"' }), 'UnexpectedResponseError', true],
		['a 503', answer(503, { 'retry-after': '2' }), 'UnexpectedResponseError', true],
		['a 404', answer(404, {}), 'UnexpectedResponseError', false],
		['an encoded body', answer(206, { ...good, 'content-encoding': 'gzip' }), 'UnexpectedResponseError', false],
		['a wrong Content-Length', answer(206, { ...good, 'content-length': '99' }), 'UnexpectedResponseError', true],
	])('refuses %s', (_case, response, name, retryable) => {
		let thrown: unknown;
		try {
			checkPartial(response, range, expected);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toMatchObject({ name, range });
		if (name === 'UnexpectedResponseError') expect(thrown).toMatchObject({ retryable });
	});

	it('carries Retry-After in ms', () => {
		expect(() => checkPartial(answer(503, { 'retry-after': '2' }), range, expected)).toThrow(expect.objectContaining({ retryAfter: 2000, status: 503 }));
	});
});
