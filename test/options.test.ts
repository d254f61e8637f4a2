import { describe, expect, it } from 'vitest';
import { ParallelGetStream } from '../src/index.ts';

const url = 'http://127.0.0.1:8999/x';

describe('ParallelGetStream options - validated eagerly', () => {
	it.each([
		[{ concurrency: 0 }, RangeError, /`concurrency` to be an integer from 1 to 256, got `0` \(number\)/],
		[{ concurrency: 1.5 }, TypeError, /`concurrency`.*got `1.5` \(number\)/],
		[{ concurrency: '8' }, TypeError, /`concurrency`.*got `"8"` \(string\)/],
		[{ chunkSize: 0 }, RangeError, /`chunkSize` to be an integer from 1/],
		[{ chunkSize: Number.NaN }, TypeError, /`chunkSize`/],
		[{ retry: -1 }, RangeError, /`retry` to be an integer from 0 to 1000, got `-1`/],
		[{ retry: { limit: 2, delay: 5 } }, TypeError, /`retry.delay` to be a function, got `5` \(number\)/],
		[{ retry: 'often' }, TypeError, /`retry` to be a number or an object, got `"often"` \(string\)/],
		[{ stallTimeout: 0 }, RangeError, /`stallTimeout`/],
		[{ size: -1 }, RangeError, /`size`/],
		[{ signal: {} }, TypeError, /`signal` to be an AbortSignal/],
		[{ ky: 'ky' }, TypeError, /`ky` to be a ky instance/],
		[{ fetch: {} }, TypeError, /`fetch` to be a function/],
		[{ onProgress: true }, TypeError, /`onProgress` to be a function/],
		[{ allowUnpinned: 'yes' }, TypeError, /`allowUnpinned` to be a boolean/],
		[{ overlap: 1 }, TypeError, /`overlap` to be a boolean/],
		[{ headers: { range: 'bytes=0-1' } }, TypeError, /`headers` must not contain `range`/],
		[{ headers: { 'If-Match': '"x"' } }, TypeError, /`headers` must not contain `if-match`/],
		[{ headers: 42 }, TypeError, /`headers` to be a Headers/],
	])('rejects %o', (options, type, message) => {
		expect(() => new ParallelGetStream(url, options as never)).toThrow(type);
		expect(() => new ParallelGetStream(url, options as never)).toThrow(message);
	});

	it.each([
		['ftp://127.0.0.1/x', /http: or https: URL, got `ftp:`/],
		['not a url', /absolute http\(s\) URL/],
		[42, /string, a URL or a Request, got number/],
	])('rejects the input %o', (input, message) => {
		expect(() => new ParallelGetStream(input as never)).toThrow(TypeError);
		expect(() => new ParallelGetStream(input as never)).toThrow(message);
	});

	it('rejects a Request that is not a GET', () => {
		expect(() => new ParallelGetStream(new Request(url, { method: 'POST', body: 'x' }))).toThrow(/GET request, got a POST request/);
	});

	it('does not mutate the options object', () => {
		const options = Object.freeze({ concurrency: 3, headers: Object.freeze({ 'x-a': '1' }), retry: Object.freeze({ limit: 2 }) });
		const download = new ParallelGetStream(url, { ...options, signal: AbortSignal.abort() });
		expect(download.readable).toBeInstanceOf(ReadableStream);
		expect(options).toEqual({ concurrency: 3, headers: { 'x-a': '1' }, retry: { limit: 2 } });
	});
});
