import ky from 'ky';
import { describe, expect, it, vi } from 'vitest';
import {
	isParallelGetError,
	isRetriesExhaustedError,
	isRevisionChangedError,
	isUnexpectedResponseError,
	ParallelGetError,
	ParallelGetStream,
	RetriesExhaustedError,
} from '../src/index.ts';
import { normalizeOptions } from '../src/core/options.ts';

const url = 'http://127.0.0.1:8999/x';

describe('ParallelGetStream options - validated eagerly', () => {
	it.each([
		[{ concurrency: 0 }, RangeError, /`concurrency` to be an integer from 1 to 256, got `0` \(number\)/],
		[{ concurrency: 1.5 }, TypeError, /`concurrency`.*got `1.5` \(number\)/],
		[{ concurrency: '8' }, TypeError, /`concurrency`.*got `"8"` \(string\)/],
		[{ concurrency: 'fast' }, TypeError, /`concurrency` to be an integer from 1 to 256, `'auto'` or `\{ min, max \}`, got `"fast"` \(string\)/],
		[{ concurrency: { min: 0 } }, RangeError, /`concurrency.min` to be an integer from 1 to 256, got `0` \(number\)/],
		[{ concurrency: { max: 300 } }, RangeError, /`concurrency.max` to be an integer from 1 to 256, got `300`/],
		[{ concurrency: { min: 5, max: 4 } }, RangeError, /`concurrency.max` to be at least `concurrency.min` \(5\), got `4` \(number\)/],
		[{ concurrency: 'auto', maxBuffer: 1.5 }, TypeError, /`maxBuffer` to be an integer/],
		[{ maxBuffer: 1024, chunkSize: 2048 }, RangeError, /`maxBuffer` to be at least `chunkSize` \(2048\), got `1024` \(number\)/],
		[{ concurrency: { min: 4 }, maxBuffer: 3 * 1024, chunkSize: 1024 }, RangeError, /`maxBuffer` to hold `concurrency.min` x `chunkSize` \(4096\), got `3072`/],
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

	it('normalizeOptions - `auto` and its bounds, `max` held to the memory budget; the budget by default', () => {
		const MiB = 1024 ** 2;
		expect(normalizeOptions({ concurrency: 'auto' })).toMatchObject({ auto: { min: 1, max: 16 }, concurrency: 16, maxBuffer: 128 * MiB });
		expect(normalizeOptions({ concurrency: { min: 2, max: 6 } })).toMatchObject({ auto: { min: 2, max: 6 }, concurrency: 6 });
		expect(normalizeOptions({ concurrency: 'auto', maxBuffer: 32 * MiB })).toMatchObject({ auto: { min: 1, max: 4 }, concurrency: 4 });
		expect(normalizeOptions({ concurrency: 'auto', chunkSize: MiB })).toMatchObject({ auto: { min: 1, max: 64 } });
		// A fixed setting keeps the window it always had.
		expect(normalizeOptions({})).toMatchObject({ auto: undefined, concurrency: 8, maxBuffer: 128 * MiB });
		expect(normalizeOptions({ concurrency: 32 })).toMatchObject({ auto: undefined, concurrency: 32, maxBuffer: 512 * MiB });
		expect(normalizeOptions({ concurrency: 4, maxBuffer: 10 * MiB })).toMatchObject({ concurrency: 4, maxBuffer: 10 * MiB });
	});

	it('does not mutate the options object', () => {
		const options = Object.freeze({ concurrency: 3, headers: Object.freeze({ 'x-a': '1' }), retry: Object.freeze({ limit: 2 }) });
		const download = new ParallelGetStream(url, { ...options, signal: AbortSignal.abort() });
		expect(download.readable).toBeInstanceOf(ReadableStream);
		expect(options).toEqual({ concurrency: 3, headers: { 'x-a': '1' }, retry: { limit: 2 } });
	});
});

describe('requests: what a Request input, `headers`, `fetch` and `ky` set', () => {
	/** A fetch that records each request and answers 200 with a small body (one request: 'single'). */
	function recorder(): { fetch: typeof fetch; seen: Request[] } {
		const seen: Request[] = [];
		return {
			seen,
			fetch: async (input, init) => {
				seen.push(new Request(input, init));
				return new Response('abc', { status: 200, headers: { 'content-length': '3' } });
			},
		};
	}

	it('a Request input: its credentials, mode, cache, redirect, referrer and referrer policy apply', async () => {
		const { fetch, seen } = recorder();
		const settings = {
			credentials: 'omit',
			mode: 'same-origin',
			cache: 'no-store',
			redirect: 'error',
			referrer: 'http://127.0.0.1:8999/page',
			referrerPolicy: 'no-referrer-when-downgrade',
		} as const;
		const input = new Request(url, { ...settings, headers: { authorization: 'Bearer t' } });
		// What the library hands to ky (Node's Request keeps no referrer, so the request itself cannot show those two).
		const given: Record<string, unknown>[] = [];
		const instance = ky.create({ hooks: { beforeRequest: [({ options }) => void given.push({ ...options })] } });
		const download = new ParallelGetStream(input, { fetch, ky: instance });
		await new Response(download.readable).arrayBuffer();
		expect(given).toHaveLength(1);
		expect(given[0]).toMatchObject(settings);
		expect(seen).toHaveLength(1);
		expect(seen[0]).toMatchObject({ credentials: 'omit', mode: 'same-origin', cache: 'no-store', redirect: 'error' });
		expect(seen[0]!.headers.get('authorization')).toBe('Bearer t');
	});

	it.each(['Range', 'If-Range', 'If-Match', 'If-Unmodified-Since', 'If-None-Match', 'If-Modified-Since'])(
		'refuses %s in `headers` and in a Request input',
		(name) => {
			const header = { [name]: name.startsWith('If-') ? '"x"' : 'bytes=0-1' };
			expect(() => new ParallelGetStream(url, { headers: header })).toThrow(TypeError);
			expect(() => new ParallelGetStream(url, { headers: header })).toThrow(new RegExp(`\`headers\` must not contain \`${name.toLowerCase()}\``));
			expect(() => new ParallelGetStream(new Request(url, { headers: header }))).toThrow(TypeError);
			expect(() => new ParallelGetStream(new Request(url, { headers: header }))).toThrow(new RegExp(`\`input.headers\` must not contain \`${name.toLowerCase()}\``));
		},
	);

	it('`fetch` takes precedence over the ky instance’s own, and the instance’s hooks still apply', async () => {
		const { fetch, seen } = recorder();
		const kyFetch = vi.fn(fetch);
		let hooked = 0;
		const instance = ky.create({ fetch: kyFetch, hooks: { beforeRequest: [() => void hooked++] } });
		const download = new ParallelGetStream(url, { ky: instance, fetch });
		expect(new Uint8Array(await new Response(download.readable).arrayBuffer())).toEqual(new TextEncoder().encode('abc'));
		expect(seen).toHaveLength(1);
		expect(kyFetch).not.toHaveBeenCalled();
		expect(hooked).toBe(1);
	});
	it('a ky instance that throws on error statuses: the status still decides (a 404 is not retried)', async () => {
		let calls = 0;
		const instance = ky.create({ retry: 0, throwHttpErrors: true });
		const fetch: typeof globalThis.fetch = async () => {
			calls++;
			return new Response('gone', { status: 404 });
		};
		const download = new ParallelGetStream(url, { ky: instance, fetch, retry: { limit: 3, delay: () => 1 } });
		await expect(download.info).rejects.toMatchObject({ name: 'UnexpectedResponseError', status: 404, retryable: false });
		expect(calls).toBe(1);
	});

	it.each([
		['named HTTPError but without a response', () => Object.assign(new Error('hook'), { name: 'HTTPError' })],
		['with a response but not an HTTPError', () => Object.assign(new Error('hook'), { response: new Response('x', { status: 404 }) })],
	])('an error %s is a network fault, not a response', async (_case, make) => {
		const thrown = make();
		const instance = ky.create({ retry: 0, hooks: { beforeRequest: [() => { throw thrown; }] } });
		const download = new ParallelGetStream(url, { ky: instance, retry: { limit: 1, delay: () => 1 } });
		await expect(download.info).rejects.toMatchObject({ name: 'RetriesExhaustedError', attempts: 2, cause: thrown });
	});

	it('a network error is retried, and its last occurrence is the cause (as ky reports it)', async () => {
		let calls = 0;
		const failure = new TypeError('fetch failed');
		const fetch: typeof globalThis.fetch = async () => {
			calls++;
			throw failure;
		};
		const download = new ParallelGetStream(url, { fetch, retry: { limit: 2, delay: () => 1 } });
		const error = (await download.info.catch((reason: unknown) => reason)) as Error;
		expect(error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 3 });
		expect([error.cause, (error.cause as Error).cause]).toContain(failure);
		expect(calls).toBe(3);
	});
});

describe('errors', () => {
	it('ERR_NO_READABLE_STREAM where there is no ReadableStream to build on', () => {
		class Bare extends ParallelGetStream {
			static override ReadableStream = undefined;
		}
		let thrown: unknown;
		try {
			new Bare(url);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(ParallelGetError);
		expect(thrown).toMatchObject({ name: 'ParallelGetError', code: 'ERR_NO_READABLE_STREAM', message: expect.stringContaining('parallel-get-stream/ponyfill') });
		expect(isParallelGetError(thrown)).toBe(true);
	});

	it('the isX() guards recognise errors from another copy of the package, and only their own', async () => {
		vi.resetModules();
		const copy = (await import('../src/index.ts')) as typeof import('../src/index.ts');
		expect(copy.RetriesExhaustedError).not.toBe(RetriesExhaustedError);
		const errors = {
			revision: new copy.RevisionChangedError('412', { status: 412 }),
			unexpected: new copy.UnexpectedResponseError('status 404', { status: 404 }),
			exhausted: new copy.RetriesExhaustedError(3),
			stall: new copy.StallError(100),
			base: new copy.ParallelGetError('ERR_NO_READABLE_STREAM', 'none'),
		};
		expect(errors.exhausted).not.toBeInstanceOf(RetriesExhaustedError);
		const guards = { revision: isRevisionChangedError, unexpected: isUnexpectedResponseError, exhausted: isRetriesExhaustedError } as const;
		for (const [kind, guard] of Object.entries(guards)) {
			for (const [other, error] of Object.entries(errors)) expect(guard(error), `${kind}(${other})`).toBe(kind === other);
		}
		for (const error of Object.values(errors)) expect(isParallelGetError(error)).toBe(true);
		// The name alone is not enough for the base guard: it also needs the code, on an Error.
		const named = Object.assign(new Error('x'), { name: 'UnexpectedResponseError' });
		expect(isParallelGetError(named)).toBe(false);
		expect(isParallelGetError({ name: 'UnexpectedResponseError', code: 'ERR_UNEXPECTED_RESPONSE' })).toBe(false);
		expect(isParallelGetError(Object.assign(new Error('x'), { name: 'TypeError', code: 'ERR_X' }))).toBe(false);
		for (const guard of [isParallelGetError, ...Object.values(guards)]) {
			expect(guard(undefined)).toBe(false);
			expect(guard(null)).toBe(false);
			expect(guard(new Error('plain'))).toBe(false);
		}
	});
});

describe('error objects', () => {
	it('carry what they were given, and the cause only when there was one', async () => {
		const { StallError } = await import('../src/index.ts');
		const cause = new Error('reset');
		const base = new ParallelGetError('ERR_STALLED', 'm', { url: 'u', range: { start: 1, end: 2 }, status: 500, attempt: 3, cause });
		expect(base).toMatchObject({ name: 'ParallelGetError', code: 'ERR_STALLED', message: 'm', url: 'u', range: { start: 1, end: 2 }, status: 500, attempt: 3, cause });
		expect(base).toBeInstanceOf(Error);
		const bare = new ParallelGetError('ERR_STALLED', 'm');
		expect('cause' in bare).toBe(false);
		expect(bare).toMatchObject({ url: undefined, range: undefined, status: undefined, attempt: undefined });

		const exhausted = new RetriesExhaustedError(1, { range: { start: 0, end: 9 }, cause, hint: 'look here' });
		expect(exhausted).toMatchObject({ name: 'RetriesExhaustedError', code: 'ERR_RETRIES_EXHAUSTED', attempts: 1, attempt: 1, cause });
		expect(exhausted.message).toBe('Gave up after 1 attempt (bytes 0-9): reset (look here)');
		expect(new RetriesExhaustedError(2).message).toBe('Gave up after 2 attempts');
		expect(new RetriesExhaustedError(2, { cause: 'not an error' }).message).toBe('Gave up after 2 attempts');

		const stall = new StallError(100, { range: { start: 0, end: 9 } });
		expect(stall).toMatchObject({ name: 'StallError', code: 'ERR_STALLED', timeout: 100 });
		expect(stall.message).toBe('No data for 100 ms (bytes 0-9)');

		const { UnexpectedResponseError, RevisionChangedError } = await import('../src/index.ts');
		const unexpected = new UnexpectedResponseError('why');
		expect(unexpected).toMatchObject({ code: 'ERR_UNEXPECTED_RESPONSE', retryable: false, retryAfter: undefined, contentRange: undefined });
		expect(unexpected.message).toBe('Unexpected response from the server: why');
		const short = new UnexpectedResponseError('why', { url: 'u', status: 206, code: 'ERR_BODY_TOO_SHORT', retryable: true, retryAfter: 5, contentRange: 'c' });
		expect(short).toMatchObject({ code: 'ERR_BODY_TOO_SHORT', retryable: true, retryAfter: 5, contentRange: 'c' });
		expect(short.message).toBe('Unexpected response [HTTP 206] from u: why');

		const changed = new RevisionChangedError('ETag', { expected: '"a"', received: '"b"' });
		expect(changed).toMatchObject({ name: 'RevisionChangedError', code: 'ERR_REVISION_CHANGED', expected: '"a"', received: '"b"' });
		expect(changed.message).toBe('The object changed during the download: ETag');
	});
});
