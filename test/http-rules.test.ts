import { describe, expect, it } from 'vitest';
import { parseContentLength, parseContentRange, parseRetryAfter, rangeHeader } from '../src/http/content-range.ts';
import { checkPartial, checkWholeSize, discoveredSize, encodedError, isEncoded, statusError } from '../src/http/checks.ts';
import { declaresDigest } from '../src/http/digest-headers.ts';
import { carriesPin, isStrongEtag, isStrongLastModified, pinFromHeaders, pinHeaders, pinMismatch } from '../src/http/validators.ts';

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

describe('the header rules, edge by edge', () => {
	it('writes an open-ended Range', () => {
		expect(rangeHeader({ start: 5, end: 9 }, true)).toBe('bytes=5-');
		expect(rangeHeader({ start: 5, end: 9 }, false)).toBe('bytes=5-9');
	});

	it.each([
		['  bytes 0-1/2  ', { range: { start: 0, end: 1 }, size: 2 }],
		['bytes\t0-1/2', { range: { start: 0, end: 1 }, size: 2 }],
		['bytes   3-3/4', { range: { start: 3, end: 3 }, size: 4 }],
		['bytes */7', { range: undefined, size: 7 }],
		['bytes \t*/7', { range: undefined, size: 7 }],
		['Bytes */7', { range: undefined, size: 7 }],
	])('Content-Range %o', (value, expected) => {
		expect(parseContentRange(value)).toEqual(expected);
	});

	it.each([
		['bytes0-1/2'],
		['bytes 0-1/2x'],
		['xbytes 0-1/2'],
		['bytes 0-1/'],
		['bytes 0-/2'],
		['bytes */*'],
		['bytes */'],
		['bytes */7x'],
		['x bytes */7'],
		['bytes *7'],
		['bytes 0-1/99999999999999999999'],
		['bytes 99999999999999999999-99999999999999999999/*'],
		['bytes */99999999999999999999'],
		['bytes 0-99999999999999999999/*'],
		[undefined],
	])('Content-Range %o refused', (value) => {
		expect(parseContentRange(value)).toBeUndefined();
	});

	it('Content-Length: digits only, padded or not, a safe integer', () => {
		expect(parseContentLength(' 12 ')).toBe(12);
		expect(parseContentLength('0')).toBe(0);
		for (const value of ['', ' ', '-1', '1.5', '1e3', 'x12', '12x', '99999999999999999999']) expect(parseContentLength(value), value).toBeUndefined();
	});

	it('Retry-After: seconds (trimmed) or a date, never negative', () => {
		const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
		expect(parseRetryAfter(' 3 ', now)).toBe(3000);
		expect(parseRetryAfter('0', now)).toBe(0);
		expect(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0);
		expect(parseRetryAfter(' Wed, 21 Oct 2026 07:28:02 GMT ', now)).toBe(2000);
		expect(parseRetryAfter(null, now)).toBeUndefined();
		expect(parseRetryAfter('in a while', now)).toBeUndefined();
		expect(parseRetryAfter('x3', now)).toBeUndefined();
		expect(parseRetryAfter('3 seconds', now)).toBeUndefined();
		const before = Date.now();
		const inTwoMinutes = new Date(before + 120_000).toUTCString();
		const ms = parseRetryAfter(inTwoMinutes)!;
		expect(ms).toBeGreaterThan(100_000);
		expect(ms).toBeLessThanOrEqual(120_000);
	});

	it('a strong ETag is one quoted string, trimmed', () => {
		expect(isStrongEtag(' "a" ')).toBe(true);
		expect(isStrongEtag('""')).toBe(true);
		for (const value of ['"a', 'a"', 'a', '"a"b', 'x"a"', '"a"x', 'W/"a"', '"a""b"', '', null, undefined]) expect(isStrongEtag(value), String(value)).toBe(false);
	});

	it('a strong Last-Modified: a date, at least a second before the Date header (or no Date)', () => {
		const modified = 'Wed, 21 Oct 2015 07:28:00 GMT';
		expect(isStrongLastModified(null, null)).toBe(false);
		expect(isStrongLastModified('yesterday', null)).toBe(false);
		expect(isStrongLastModified(modified, null)).toBe(true);
		expect(isStrongLastModified(modified, 'not a date')).toBe(true);
		expect(isStrongLastModified(modified, 'Wed, 21 Oct 2015 07:28:01 GMT')).toBe(true);
		expect(isStrongLastModified(modified, 'Wed, 21 Oct 2015 07:28:00 GMT')).toBe(false);
		expect(isStrongLastModified(modified, 'Wed, 21 Oct 2015 07:27:59 GMT')).toBe(false);
	});

	it('the pin: a strong ETag first, then a strong Last-Modified, else none (keeping both validators)', () => {
		const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
		const date = 'Wed, 21 Oct 2015 08:00:00 GMT';
		expect(pinFromHeaders(new Headers({ etag: ' "a" ', 'last-modified': lastModified }))).toEqual({ kind: 'etag', etag: '"a"', lastModified });
		expect(pinFromHeaders(new Headers({ etag: '"a"' }))).toEqual({ kind: 'etag', etag: '"a"', lastModified: undefined });
		expect(pinFromHeaders(new Headers({ etag: 'W/"w"', 'last-modified': lastModified, date }))).toEqual({ kind: 'last-modified', lastModified, etag: 'W/"w"' });
		expect(pinFromHeaders(new Headers({ 'last-modified': lastModified, date }))).toEqual({ kind: 'last-modified', lastModified, etag: undefined });
		expect(pinFromHeaders(new Headers({ etag: 'W/"w"', 'last-modified': lastModified, date: lastModified }))).toEqual({ kind: 'none', etag: 'W/"w"', lastModified });
		expect(pinFromHeaders(new Headers())).toEqual({ kind: 'none', etag: undefined, lastModified: undefined });
		expect(pinHeaders({ kind: 'last-modified', lastModified, etag: '"x"' })).toEqual({ 'if-unmodified-since': lastModified });
		expect(pinHeaders({ kind: 'none', lastModified, etag: 'W/"w"' })).toEqual({});
	});

	it('an answer sent before the pin was known must carry the validator that pins; with no pin, nothing is asked', () => {
		const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
		const byEtag = { kind: 'etag', etag: '"a"', lastModified } as const;
		const byDate = { kind: 'last-modified', lastModified, etag: undefined } as const;
		const none = { kind: 'none', etag: undefined, lastModified: undefined } as const;
		const cases = [
			[byEtag, { etag: '"a"' }, true],
			[byEtag, { 'last-modified': lastModified }, false],
			[byDate, { 'last-modified': lastModified }, true],
			[byDate, { etag: '"a"' }, false],
			[none, {}, true],
			[none, { etag: 'W/"w"' }, true],
		] as const;
		for (const [pin, headers, carries] of cases) expect(carriesPin(pin, new Headers(headers)), `${pin.kind} ${JSON.stringify(headers)}`).toBe(carries);
	});

	it('compares the validator that pins, and for no pin whichever there was', () => {
		const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
		const later = 'Thu, 22 Oct 2015 07:28:00 GMT';
		const byDate = { kind: 'last-modified', lastModified, etag: 'W/"w"' } as const;
		expect(pinMismatch(byDate, new Headers({ 'last-modified': later, etag: 'W/"w"' }))).toEqual({ what: 'Last-Modified', expected: lastModified, received: later });
		expect(pinMismatch(byDate, new Headers({ 'last-modified': lastModified, etag: 'W/"other"' }))).toBeUndefined();
		expect(pinMismatch(byDate, new Headers({ etag: 'W/"w"' }))).toBeUndefined();
		const weak = { kind: 'none', etag: 'W/"w"', lastModified } as const;
		expect(pinMismatch(weak, new Headers({ etag: 'W/"v"', 'last-modified': lastModified }))).toEqual({ what: 'ETag', expected: 'W/"w"', received: 'W/"v"' });
		expect(pinMismatch(weak, new Headers({ etag: ' W/"w" ', 'last-modified': later }))).toBeUndefined();
		const dated = { kind: 'none', etag: undefined, lastModified } as const;
		expect(pinMismatch(dated, new Headers({ 'last-modified': later }))).toEqual({ what: 'Last-Modified', expected: lastModified, received: later });
		expect(pinMismatch(dated, new Headers({ etag: '"new"' }))).toBeUndefined();
		expect(pinMismatch({ kind: 'none', etag: undefined, lastModified: undefined }, new Headers({ etag: '"a"', 'last-modified': later }))).toBeUndefined();
		const strong = { kind: 'etag', etag: '"a"', lastModified } as const;
		expect(pinMismatch(strong, new Headers({ etag: ' "a" ' }))).toBeUndefined();
	});

	it('Content-Encoding: anything but identity (or none) is encoded', () => {
		expect(isEncoded(new Headers())).toBe(false);
		expect(isEncoded(new Headers({ 'content-encoding': 'identity' }))).toBe(false);
		expect(isEncoded(new Headers({ 'content-encoding': ' Identity ' }))).toBe(false);
		expect(isEncoded(new Headers({ 'content-encoding': '' }))).toBe(false);
		expect(isEncoded(new Headers({ 'content-encoding': ' GZIP ' }))).toBe(true);
		expect(isEncoded(new Headers({ 'content-encoding': 'br' }))).toBe(true);
	});

	it('an error status: retryable ones carry Retry-After, others not; the status text in the message', () => {
		const url = 'http://127.0.0.1/x';
		const busy = statusError(new Response(null, { status: 503, statusText: 'Busy', headers: { 'retry-after': '4' } }), { start: 0, end: 9 }, url);
		expect(busy).toMatchObject({ status: 503, retryable: true, retryAfter: 4000, range: { start: 0, end: 9 }, url });
		expect(busy.message).toBe(`Unexpected response [HTTP 503] from ${url} (bytes 0-9): status 503 Busy`);
		const missing = statusError(new Response(null, { status: 404, headers: { 'retry-after': '4' } }), undefined, url);
		expect(missing).toMatchObject({ status: 404, retryable: false, retryAfter: undefined, range: undefined });
		expect(missing.message).toBe(`Unexpected response [HTTP 404] from ${url}: status 404`);
		expect(statusError(new Response(null, { status: 429 }), undefined, url)).toMatchObject({ retryable: true, retryAfter: undefined });
		const encoded = encodedError(new Response('x', { status: 206, headers: { 'content-encoding': 'gzip' } }), { start: 0, end: 9 }, url);
		expect(encoded).toMatchObject({ status: 206, retryable: false, range: { start: 0, end: 9 } });
		expect(encoded.message).toContain('a partial body with Content-Encoding gzip');
	});
});

describe('discoveredSize - the first answer, RFC 9110 §14.4', () => {
	const url = 'http://127.0.0.1/x';
	const asked = { start: 0, end: 99 };
	const answer = (headers: Record<string, string>): Response => new Response('x', { status: 206, headers });
	const thrown = (run: () => unknown): Record<string, unknown> => {
		try {
			run();
		} catch (error) {
			return error as Record<string, unknown>;
		}
		throw new Error('expected a throw');
	};

	it('reads the total of the range asked, also when the object is shorter than it', () => {
		expect(discoveredSize(answer({ 'content-range': 'bytes 0-99/1000' }), asked, url, undefined)).toEqual({ size: 1000, fromCaller: false });
		expect(discoveredSize(answer({ 'content-range': 'bytes 0-49/50' }), asked, url, undefined)).toEqual({ size: 50, fromCaller: false });
		expect(discoveredSize(answer({ 'content-range': 'bytes 0-99/100' }), asked, url, 100)).toEqual({ size: 100, fromCaller: false });
	});

	it('another range: retryable; another total than `size`: not', () => {
		expect(thrown(() => discoveredSize(answer({ 'content-range': 'bytes 1-99/1000' }), asked, url, undefined))).toMatchObject({ retryable: true, contentRange: 'bytes 1-99/1000', status: 206 });
		expect(thrown(() => discoveredSize(answer({ 'content-range': 'bytes 0-98/1000' }), asked, url, undefined))).toMatchObject({ retryable: true });
		expect(thrown(() => discoveredSize(answer({ 'content-range': 'bytes 0-49/1000' }), asked, url, undefined))).toMatchObject({ retryable: true });
		const size = thrown(() => discoveredSize(answer({ 'content-range': 'bytes 0-99/1000' }), asked, url, 999));
		expect(size).toMatchObject({ name: 'UnexpectedResponseError', retryable: false, contentRange: 'bytes 0-99/1000' });
		expect(size.message).toContain('the object has 1000 bytes, not the 999 given as `size`');
	});

	it('an unusable Content-Range is refused, naming it', () => {
		expect(thrown(() => discoveredSize(answer({ 'content-range': 'bytes */1000' }), asked, url, undefined))).toMatchObject({ contentRange: 'bytes */1000', retryable: false });
		expect(thrown(() => discoveredSize(answer({ 'content-range': 'nonsense' }), asked, url, 1000))).toMatchObject({ contentRange: 'nonsense' });
	});

	it('no readable Content-Range: a short Content-Length is the whole object; else the caller’s size stands in', () => {
		expect(discoveredSize(answer({ 'content-length': '40' }), asked, url, undefined)).toEqual({ size: 40, fromCaller: false });
		expect(discoveredSize(answer({ 'content-length': '99' }), asked, url, undefined)).toEqual({ size: 99, fromCaller: false });
		expect(discoveredSize(answer({ 'content-length': '100' }), asked, url, undefined)).toEqual({ size: undefined, fromCaller: false });
		expect(discoveredSize(answer({}), asked, url, undefined)).toEqual({ size: undefined, fromCaller: false });
		expect(discoveredSize(answer({ 'content-range': 'bytes 0-99/*', 'content-length': '40' }), asked, url, undefined)).toEqual({ size: undefined, fromCaller: false });
		expect(discoveredSize(answer({ 'content-length': '100' }), asked, url, 1000)).toEqual({ size: 1000, fromCaller: true });
		expect(discoveredSize(answer({ 'content-length': '40' }), asked, url, 40)).toEqual({ size: 40, fromCaller: true });
		expect(discoveredSize(answer({}), asked, url, 1000)).toEqual({ size: 1000, fromCaller: true });
		expect(discoveredSize(answer({ 'content-range': 'bytes 0-99/*', 'content-length': '100' }), asked, url, 1000)).toEqual({ size: 1000, fromCaller: false });
		const wrong = thrown(() => discoveredSize(answer({ 'content-length': '40' }), asked, url, 1000));
		expect(wrong).toMatchObject({ name: 'UnexpectedResponseError', retryable: false });
		expect(wrong.message).toContain('Content-Length 40 does not match the size given (1000)');
		expect(thrown(() => discoveredSize(answer({ 'content-length': '100' }), asked, url, 40))).toMatchObject({ retryable: false });
	});
});

describe('checkPartial - the rest of the rules', () => {
	const url = 'http://127.0.0.1/x';
	const range = { start: 100, end: 199 };
	const pin = pinFromHeaders(new Headers({ etag: '"a"' }));
	const answer = (headers: Record<string, string>, status = 206): Response => new Response('x', { status, headers });
	const verdict = (response: Response, expected: Parameters<typeof checkPartial>[2]): unknown => {
		try {
			checkPartial(response, range, expected);
		} catch (error) {
			return error;
		}
		return undefined;
	};

	it('a hidden Content-Range with the caller’s size: the length stands for it', () => {
		const expected = { url, pin, size: 1000, totalFromCaller: true };
		expect(verdict(answer({ etag: '"a"', 'content-length': '100' }), expected)).toBeUndefined();
		expect(verdict(answer({ etag: '"a"' }), expected)).toBeUndefined();
		expect(verdict(answer({ etag: '"a"', 'content-length': '99' }), expected)).toMatchObject({ name: 'UnexpectedResponseError', retryable: false, range });
		// A readable one is still checked.
		expect(verdict(answer({ etag: '"a"', 'content-range': 'bytes 100-199/1001' }), expected)).toMatchObject({ name: 'RevisionChangedError', expected: '1000', received: '1001' });
	});

	it('without the caller’s size, a 206 must say which range it is', () => {
		const expected = { url, pin, size: 1000, totalFromCaller: false };
		const missing = verdict(answer({ etag: '"a"' }), expected) as Error & Record<string, unknown>;
		expect(missing).toMatchObject({ name: 'UnexpectedResponseError', retryable: false, contentRange: undefined });
		expect(missing.message).toContain('a 206 without Content-Range');
		const unusable = verdict(answer({ etag: '"a"', 'content-range': 'bytes x' }), expected) as Error & Record<string, unknown>;
		expect(unusable).toMatchObject({ contentRange: 'bytes x', retryable: false });
		expect(unusable.message).toContain('unusable Content-Range `bytes x`');
	});

	it('an unknown total (`/*`) is not another total; no pin, no validator compared', () => {
		expect(verdict(answer({ etag: '"a"', 'content-range': 'bytes 100-199/*' }), { url, pin, size: 1000, totalFromCaller: false })).toBeUndefined();
		expect(verdict(answer({ etag: '"b"', 'content-range': 'bytes 100-199/1000' }), { url, pin: undefined, size: 1000, totalFromCaller: false })).toBeUndefined();
		expect(verdict(answer({ etag: '"a"', 'content-range': 'bytes 100-198/1000' }), { url, pin, size: 1000, totalFromCaller: false })).toMatchObject({ retryable: true, contentRange: 'bytes 100-198/1000' });
	});

	it('a 412 carries the range and status; another validator says what it expected and got', () => {
		const expected = { url, pin, size: 1000, totalFromCaller: false };
		const gone = verdict(new Response(null, { status: 412 }), expected) as Error & Record<string, unknown>;
		expect(gone).toMatchObject({ name: 'RevisionChangedError', status: 412, range, url, expected: undefined });
		expect(gone.message).toBe('The object changed during the download: 412 Precondition Failed (bytes 100-199)');
		const other = verdict(answer({ etag: '"b"', 'content-range': 'bytes 100-199/1000' }), expected) as Error & Record<string, unknown>;
		expect(other.message).toBe('The object changed during the download: ETag "b" differs from "a" (bytes 100-199)');
	});
});

describe('the verdicts name what came back', () => {
	const url = 'http://127.0.0.1/x';
	const pin = pinFromHeaders(new Headers({ etag: '"a"' }));
	const range = { start: 100, end: 199 };
	const answer = (headers: Record<string, string>, status = 206): Response => new Response('x', { status, headers: { etag: '"a"', ...headers } });
	const message = (run: () => unknown): string => {
		try {
			run();
		} catch (error) {
			return (error as Error).message;
		}
		throw new Error('expected a throw');
	};
	const partial = (response: Response, totalFromCaller = false) => () => checkPartial(response, range, { url, pin, size: 1000, totalFromCaller });

	it.each([
		[partial(answer({}, 200)), 'the server ignored Range (200)'],
		[partial(answer({ 'content-range': 'bytes 100-199/1001' })), 'the size is now 1001, not 1000'],
		[partial(answer({ 'content-range': 'bytes 100-198/1000' })), 'Content-Range `bytes 100-198/1000` is not the range asked for'],
		[partial(answer({ 'content-range': 'bytes 100-199/1000', 'content-length': '99' })), 'Content-Length 99 for a 100-byte range'],
		[partial(answer({ 'content-length': '99' }), true), 'Content-Length 99 for a 100-byte range: the object is not the 1000 bytes given as `size`, or it changed'],
		[() => discoveredSize(answer({ 'content-range': 'bytes */5' }), { start: 0, end: 99 }, url, undefined), 'unusable Content-Range `bytes */5`'],
		[() => discoveredSize(answer({ 'content-range': 'bytes 1-99/1000' }), { start: 0, end: 99 }, url, undefined), 'Content-Range `bytes 1-99/1000` is not the range asked for'],
	])('%#: %s', (run, reason) => {
		expect(message(run)).toContain(reason);
	});
});

describe('declaresDigest - which answers may declare a digest of the whole object', () => {
	/** A response of `status` with `headers`, seen as fetch types it (`cors` for another origin). */
	const answer = (status: number, headers: Record<string, string>, type: ResponseType = 'basic'): Response => {
		const response = new Response(null, { status, headers });
		Object.defineProperty(response, 'type', { value: type });
		return response;
	};
	const repr = { 'repr-digest': 'sha-256=:AAAA:' };
	const body = { 'content-md5': 'AAAA' };

	it('a 200 or a 206 with a digest of the representation: yes, also a cross-origin 206', () => {
		expect(declaresDigest(answer(200, repr))).toBe(true);
		expect(declaresDigest(answer(206, repr))).toBe(true);
		expect(declaresDigest(answer(206, repr, 'cors'))).toBe(true);
	});

	it('a digest of the body: only on a 200, where the body is the whole object', () => {
		expect(declaresDigest(answer(200, body))).toBe(true);
		expect(declaresDigest(answer(206, body))).toBe(false);
	});

	it('a cross-origin 200: no, whatever it declares (CORS may hide its Content-Encoding)', () => {
		expect(declaresDigest(answer(200, repr, 'cors'))).toBe(false);
		expect(declaresDigest(answer(200, body, 'cors'))).toBe(false);
	});

	it('an encoded body, another status, or no digest header: no', () => {
		expect(declaresDigest(answer(200, { ...repr, 'content-encoding': 'gzip' }))).toBe(false);
		expect(declaresDigest(answer(404, repr))).toBe(false);
		expect(declaresDigest(answer(200, {}))).toBe(false);
	});
});

describe('checkWholeSize - the caller’s `size` against the one answer that carries the whole object', () => {
	const whole = new Response(null, { status: 200 });
	it('a length that differs fails, naming both; an unknown length or no `size` says nothing yet', () => {
		expect(() => checkWholeSize(whole, 99, 'u', 100)).toThrow('the object has 99 bytes, not the 100 given as `size`');
		expect(() => checkWholeSize(whole, 100, 'u', 100)).not.toThrow();
		expect(() => checkWholeSize(whole, undefined, 'u', 100)).not.toThrow();
		expect(() => checkWholeSize(whole, 99, 'u', undefined)).not.toThrow();
	});
});
