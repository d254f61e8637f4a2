/**
 * Discovery's rules as pure functions of the first response (the engine acts on them): which mode
 * the answer to `bytes=0-(chunkSize - 1)` decides, and what the download reports of it.
 */
import { describe, expect, it } from 'vitest';
import { classifyDiscovery, describe as describeInfo, wholeLength } from '../src/core/discovery.ts';

const url = 'http://127.0.0.1/object.bin';
const chunkSize = 100;
const range = { start: 0, end: chunkSize - 1 };
const options = { chunkSize, size: undefined, allowUnpinned: false };
const etag = '"v1"';

function reply(status: number, headers: Record<string, string>): Response {
	return new Response(status === 204 || status === 416 ? null : 'x', { status, headers });
}

/** A 206 for the first chunk of an object of `total` bytes, with `headers` besides. */
function partial(total: number, headers: Record<string, string> = { etag }): Response {
	const end = Math.min(chunkSize, total) - 1;
	return reply(206, { 'content-range': `bytes 0-${end}/${total}`, 'content-length': String(end + 1), ...headers });
}

describe('classifyDiscovery', () => {
	it('416 - an empty object only when Content-Range says `*/0` or nothing; `*/N` with N > 0 is an error, not an empty stream', () => {
		expect(classifyDiscovery(reply(416, {}), range, url, options)).toEqual({ mode: 'empty' });
		expect(classifyDiscovery(reply(416, { 'content-range': 'bytes */0' }), range, url, options)).toEqual({ mode: 'empty' });
		let error: unknown;
		try {
			classifyDiscovery(reply(416, { 'content-range': 'bytes */5' }), range, url, options);
		} catch (thrown) {
			error = thrown;
		}
		expect(error).toMatchObject({ name: 'UnexpectedResponseError', code: 'ERR_UNEXPECTED_RESPONSE', status: 416, contentRange: 'bytes */5', url, retryable: false });
		expect((error as Error).message).toMatch(/: 416 for the first bytes of an object said to hold 5$/);
	});

	it('200 - the server ignored Range: this body is the object', () => {
		expect(classifyDiscovery(reply(200, { etag }), range, url, options)).toEqual({ mode: 'whole' });
	});

	it('an error status - thrown as the status error, retryable for 503, not for 404', () => {
		expect(() => classifyDiscovery(reply(404, {}), range, url, options)).toThrow(expect.objectContaining({ status: 404, retryable: false, range }));
		expect(() => classifyDiscovery(reply(503, {}), range, url, options)).toThrow(expect.objectContaining({ status: 503, retryable: true, range }));
		// A 2xx other than 200 and 206 is no answer to a range request either.
		expect(() => classifyDiscovery(reply(204, {}), range, url, options)).toThrow(expect.objectContaining({ status: 204 }));
	});

	it('an encoded 206 - refused: its ranges address encoded bytes', () => {
		expect(() => classifyDiscovery(partial(1000, { etag, 'content-encoding': 'gzip' }), range, url, options)).toThrow(
			expect.objectContaining({ status: 206, range, message: expect.stringContaining('Content-Encoding gzip') }),
		);
	});

	it('a 206 with a strong ETag - ranges of the object, pinned to it', () => {
		expect(classifyDiscovery(partial(1000), range, url, options)).toEqual({
			mode: 'ranges',
			size: 1000,
			pin: { kind: 'etag', etag, lastModified: undefined },
			totalFromCaller: false,
		});
	});

	it('no strong validator - one plain GET for an object larger than a chunk; ranges when it fits in one, or with `allowUnpinned`', () => {
		const weak = { etag: 'W/"v1"' };
		expect(classifyDiscovery(partial(chunkSize + 1, weak), range, url, options)).toEqual({ mode: 'plain' });
		expect(classifyDiscovery(partial(chunkSize, weak), range, url, options)).toMatchObject({ mode: 'ranges', size: chunkSize, pin: { kind: 'none' } });
		expect(classifyDiscovery(partial(1000, weak), range, url, { ...options, allowUnpinned: true })).toMatchObject({ mode: 'ranges', size: 1000, pin: { kind: 'none' } });
		// A strong Last-Modified pins as well as an ETag.
		const modified = { 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT', date: 'Tue, 01 Dec 2026 10:00:05 GMT' };
		expect(classifyDiscovery(partial(1000, modified), range, url, options)).toMatchObject({ mode: 'ranges', pin: { kind: 'last-modified' } });
	});

	it('no readable total - one plain GET: the chunks cannot be laid out', () => {
		const unknown = reply(206, { 'content-range': `bytes 0-${chunkSize - 1}/*`, 'content-length': String(chunkSize), etag });
		expect(classifyDiscovery(unknown, range, url, options)).toEqual({ mode: 'plain' });
	});

	it('a Content-Range hidden (cross-origin) - the caller’s size stands in and is said to; a size of 0 is an empty object', () => {
		const hidden = reply(206, { 'content-length': String(chunkSize), etag });
		expect(classifyDiscovery(hidden, range, url, { ...options, size: 1000 })).toEqual({
			mode: 'ranges',
			size: 1000,
			pin: { kind: 'etag', etag, lastModified: undefined },
			totalFromCaller: true,
		});
		expect(classifyDiscovery(reply(206, { 'content-length': '0', etag }), range, url, { ...options, size: 0 })).toEqual({ mode: 'empty' });
	});

	it('a Content-Range for another range - a retryable error, never streamed as the head', () => {
		const shifted = reply(206, { 'content-range': `bytes 10-${chunkSize + 9}/1000`, 'content-length': String(chunkSize), etag });
		expect(() => classifyDiscovery(shifted, range, url, options)).toThrow(expect.objectContaining({ status: 206, retryable: true }));
	});
});

describe('wholeLength', () => {
	it('Content-Length of a plain body; nothing for an encoded or a cross-origin one', () => {
		expect(wholeLength(reply(200, { 'content-length': '1234' }))).toBe(1234);
		expect(wholeLength(reply(200, {}))).toBeUndefined();
		expect(wholeLength(reply(200, { 'content-length': '1234', 'content-encoding': 'br' }))).toBeUndefined();
		// Response.type is fetch's to set: a response as fetch returns it cross-origin.
		const cors = { headers: new Headers({ 'content-length': '1234' }), type: 'cors' } as Response;
		expect(wholeLength(cors)).toBeUndefined();
		expect(wholeLength({ headers: new Headers({ 'content-length': '1234' }), type: 'basic' } as Response)).toBe(1234);
	});
});

describe('describe (the download’s info)', () => {
	it('size, mode and the validators and type sent; nothing for a header not sent', () => {
		const headers = { etag, 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT', 'content-type': 'application/octet-stream' };
		expect(describeInfo(reply(206, headers), 1000, 'parallel')).toEqual({
			size: 1000,
			mode: 'parallel',
			etag,
			lastModified: headers['last-modified'],
			contentType: 'application/octet-stream',
		});
		const bare = new Response(null, { status: 200 });
		bare.headers.delete('content-type');
		expect(describeInfo(bare, undefined, 'single')).toStrictEqual({ size: undefined, mode: 'single' });
	});
});
