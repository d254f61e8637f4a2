import ky from 'ky';
import { describe, expect, it, vi } from 'vitest';
import {
	isIntegrityError,
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
			integrity: new copy.IntegrityError({ algorithm: 'sha256', expected: 'a', actual: 'b', source: 'integrity' }),
			base: new copy.ParallelGetError('ERR_NO_READABLE_STREAM', 'none'),
		};
		expect(errors.exhausted).not.toBeInstanceOf(RetriesExhaustedError);
		const guards = { revision: isRevisionChangedError, unexpected: isUnexpectedResponseError, exhausted: isRetriesExhaustedError, integrity: isIntegrityError } as const;
		for (const [kind, guard] of Object.entries(guards)) {
			for (const [other, error] of Object.entries(errors)) expect(guard(error), `${kind}(${other})`).toBe(kind === other);
		}
		for (const error of Object.values(errors)) expect(isParallelGetError(error)).toBe(true);
		// The name alone is not enough for the base guard: it also needs the code, on an Error.
		const named = Object.assign(new Error('x'), { name: 'UnexpectedResponseError' });
		expect(isParallelGetError(named)).toBe(false);
		expect(isParallelGetError({ name: 'UnexpectedResponseError', code: 'ERR_UNEXPECTED_RESPONSE' })).toBe(false);
		expect(isParallelGetError(Object.assign(new Error('x'), { name: 'TypeError', code: 'ERR_X' }))).toBe(false);
		// An error of this copy is one by its class, whatever a subclass names it.
		class Renamed extends ParallelGetError {
			override name = 'Renamed';
		}
		expect(isParallelGetError(new Renamed('ERR_STALLED', 'm'))).toBe(true);
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

		const { IntegrityError } = await import('../src/index.ts');
		const wrong = { algorithm: 'sha256', expected: 'e', actual: 'a', source: 'repr-digest' };
		expect(new IntegrityError({ ...wrong, url: 'u' })).toMatchObject({ name: 'IntegrityError', code: 'ERR_INTEGRITY', ...wrong, url: 'u' });
		expect(new IntegrityError({ ...wrong, url: 'u' }).message).toBe('The sha256 of the bytes of u is a, not e (from repr-digest)');
		expect(new IntegrityError(wrong).message).toBe('The sha256 of the bytes of the object is a, not e (from repr-digest)');
	});
});

describe('normalizeOptions - each bad option gets its own typed error, and each good one its value', () => {
	const MiB = 1024 ** 2;
	const safe = Number.MAX_SAFE_INTEGER;

	/** What normalizeOptions threw, which must be the expected class itself (a RangeError is no TypeError). */
	function rejection(options: unknown, inherited?: Headers): Error {
		try {
			normalizeOptions(options as never, inherited);
		} catch (error) {
			return error as Error;
		}
		throw new Error(`accepted ${JSON.stringify(options)}`);
	}

	it.each([
		[null, TypeError, 'Expected `options` to be an object, got `null`'],
		[5, TypeError, 'Expected `options` to be an object, got `5` (number)'],
		['fast', TypeError, 'Expected `options` to be an object, got `"fast"` (string)'],
		[{ concurrency: 0 }, RangeError, 'Expected `concurrency` to be an integer from 1 to 256, got `0` (number)'],
		[{ concurrency: 257 }, RangeError, 'Expected `concurrency` to be an integer from 1 to 256, got `257` (number)'],
		[{ concurrency: 2.5 }, TypeError, 'Expected `concurrency` to be an integer from 1 to 256, got `2.5` (number)'],
		[{ concurrency: null }, TypeError, "Expected `concurrency` to be an integer from 1 to 256, `'auto'` or `{ min, max }`, got `null`"],
		[{ concurrency: true }, TypeError, "Expected `concurrency` to be an integer from 1 to 256, `'auto'` or `{ min, max }`, got `true` (boolean)"],
		[{ concurrency: { min: 257 } }, RangeError, 'Expected `concurrency.min` to be an integer from 1 to 256, got `257` (number)'],
		[{ concurrency: { min: '2' } }, TypeError, 'Expected `concurrency.min` to be an integer from 1 to 256, got `"2"` (string)'],
		[{ concurrency: { max: 0 } }, RangeError, 'Expected `concurrency.max` to be an integer from 1 to 256, got `0` (number)'],
		[{ concurrency: { min: 3, max: 2 } }, RangeError, 'Expected `concurrency.max` to be at least `concurrency.min` (3), got `2` (number)'],
		[{ chunkSize: 0 }, RangeError, `Expected \`chunkSize\` to be an integer from 1 to ${safe}, got \`0\` (number)`],
		[{ chunkSize: '1' }, TypeError, `Expected \`chunkSize\` to be an integer from 1 to ${safe}, got \`"1"\` (string)`],
		[{ maxBuffer: 0 }, RangeError, `Expected \`maxBuffer\` to be an integer from 1 to ${safe}, got \`0\` (number)`],
		[{ chunkSize: 1024, maxBuffer: 1023 }, RangeError, 'Expected `maxBuffer` to be at least `chunkSize` (1024), got `1023` (number)'],
		[{ concurrency: { min: 3 }, chunkSize: 1024, maxBuffer: 3071 }, RangeError, 'Expected `maxBuffer` to hold `concurrency.min` x `chunkSize` (3072), got `3071` (number)'],
		[{ size: -1 }, RangeError, `Expected \`size\` to be an integer from 0 to ${safe}, got \`-1\` (number)`],
		[{ size: 2 ** 53 }, RangeError, `Expected \`size\` to be an integer from 0 to ${safe}, got \`9007199254740992\` (number)`],
		[{ size: '10' }, TypeError, `Expected \`size\` to be an integer from 0 to ${safe}, got \`"10"\` (string)`],
		[{ stallTimeout: 0 }, RangeError, 'Expected `stallTimeout` to be an integer from 1 to 2147483647 or `false`, got `0` (number)'],
		[{ stallTimeout: 2 ** 31 }, RangeError, 'Expected `stallTimeout` to be an integer from 1 to 2147483647 or `false`, got `2147483648` (number)'],
		[{ stallTimeout: 1.5 }, TypeError, 'Expected `stallTimeout` to be an integer from 1 to 2147483647 or `false`, got `1.5` (number)'],
		[{ retry: 1001 }, RangeError, 'Expected `retry` to be an integer from 0 to 1000, got `1001` (number)'],
		[{ retry: 0.5 }, TypeError, 'Expected `retry` to be an integer from 0 to 1000, got `0.5` (number)'],
		[{ retry: null }, TypeError, 'Expected `retry` to be a number or an object, got `null`'],
		[{ retry: true }, TypeError, 'Expected `retry` to be a number or an object, got `true` (boolean)'],
		[{ retry: { limit: -1 } }, RangeError, 'Expected `retry.limit` to be an integer from 0 to 1000, got `-1` (number)'],
		[{ retry: { limit: 1001 } }, RangeError, 'Expected `retry.limit` to be an integer from 0 to 1000, got `1001` (number)'],
		[{ retry: { delay: 'x' } }, TypeError, 'Expected `retry.delay` to be a function, got `"x"` (string)'],
		[{ retry: { backoffLimit: -1 } }, RangeError, `Expected \`retry.backoffLimit\` to be an integer from 0 to ${safe}, got \`-1\` (number)`],
		[{ retry: { maxRetryAfter: -1 } }, RangeError, `Expected \`retry.maxRetryAfter\` to be an integer from 0 to ${safe}, got \`-1\` (number)`],
		[{ retry: { jitter: 'no' } }, TypeError, 'Expected `retry.jitter` to be a boolean, got `"no"` (string)'],
		[{ hedge: null }, TypeError, 'Expected `hedge` to be a boolean or an object, got `null`'],
		[{ hedge: 100 }, TypeError, 'Expected `hedge` to be a boolean or an object, got `100` (number)'],
		[{ hedge: { after: 0 } }, RangeError, 'Expected `hedge.after` to be an integer from 1 to 2147483647, got `0` (number)'],
		[{ hedge: { after: 2 ** 31 } }, RangeError, 'Expected `hedge.after` to be an integer from 1 to 2147483647, got `2147483648` (number)'],
		[{ hedge: { max: -1 } }, RangeError, `Expected \`hedge.max\` to be an integer from 0 to ${safe}, got \`-1\` (number)`],
		[{ hedge: { max: 1.5 } }, TypeError, `Expected \`hedge.max\` to be an integer from 0 to ${safe}, got \`1.5\` (number)`],
		[{ signal: null }, TypeError, 'Expected `signal` to be an AbortSignal, got `null`'],
		[{ signal: { aborted: false } }, TypeError, 'Expected `signal` to be an AbortSignal, got `[object Object]` (object)'],
		[{ signal: { aborted: 'no', addEventListener() {} } }, TypeError, 'Expected `signal` to be an AbortSignal, got `[object Object]` (object)'],
		[{ signal: { addEventListener() {} } }, TypeError, 'Expected `signal` to be an AbortSignal, got `[object Object]` (object)'],
		[{ ky: {} }, TypeError, 'Expected `ky` to be a ky instance (a function), got `[object Object]` (object)'],
		[{ fetch: 'fetch' }, TypeError, 'Expected `fetch` to be a function, got `"fetch"` (string)'],
		[{ onProgress: {} }, TypeError, 'Expected `onProgress` to be a function, got `[object Object]` (object)'],
		[{ allowUnpinned: 1 }, TypeError, 'Expected `allowUnpinned` to be a boolean, got `1` (number)'],
		[{ overlap: 'no' }, TypeError, 'Expected `overlap` to be a boolean, got `"no"` (string)'],
		[{ verify: 0 }, TypeError, 'Expected `verify` to be a boolean, got `0` (number)'],
		[{ headers: 42 }, TypeError, 'Expected `headers` to be a Headers, a record or a list of pairs, got `42` (number)'],
		[{ headers: { Range: 'bytes=0-1' } }, TypeError, '`headers` must not contain `range`: the library sets it on each request (got `"bytes=0-1"` (string))'],
	])('%o: its class and message', (options, type, message) => {
		const error = rejection(options);
		expect(error.constructor).toBe(type);
		expect(error.message).toBe(message);
	});

	it('a function with the members of a signal is not an AbortSignal', () => {
		const fake = Object.assign(() => undefined, { aborted: false, addEventListener() {} });
		const error = rejection({ signal: fake });
		expect(error.constructor).toBe(TypeError);
		expect(error.message).toMatch(/^Expected `signal` to be an AbortSignal, got /);
	});

	it('headers that Headers cannot take: the TypeError carries what Headers threw as its cause', () => {
		const error = rejection({ headers: [['only-a-name']] });
		expect(error.constructor).toBe(TypeError);
		expect(error.message).toBe('Expected `headers` to be a Headers, a record or a list of pairs, got `[object Array]` (object)');
		expect(error.cause).toBeInstanceOf(TypeError);
	});

	it('the defaults, as the README gives them', () => {
		for (const options of [undefined, {}]) {
			const { headers, retry: { delay, ...retry }, ...rest } = normalizeOptions(options);
			expect(rest).toStrictEqual({
				concurrency: 8,
				auto: undefined,
				maxBuffer: 128 * MiB,
				chunkSize: 8 * MiB,
				signal: undefined,
				ky: undefined,
				fetch: undefined,
				stallTimeout: 30_000,
				size: undefined,
				allowUnpinned: false,
				hedge: { after: 100, max: undefined },
				overlap: true,
				onProgress: undefined,
				integrity: undefined,
				verify: true,
				resume: undefined,
			});
			expect(retry).toStrictEqual({ limit: 5, backoffLimit: 10_000, maxRetryAfter: 60_000, jitter: true });
			expect([1, 2, 3, 5].map(delay)).toEqual([250, 500, 1000, 4000]);
			expect([...headers]).toEqual([]);
		}
		// A number is `{ limit }`, with the other defaults.
		const { retry } = normalizeOptions({ retry: 2 });
		expect({ ...retry, delay: retry.delay(4) }).toStrictEqual({ limit: 2, delay: 2000, backoffLimit: 10_000, maxRetryAfter: 60_000, jitter: true });
		const partial = normalizeOptions({ retry: {} }).retry;
		expect({ ...partial, delay: partial.delay(2) }).toStrictEqual({ limit: 5, delay: 500, backoffLimit: 10_000, maxRetryAfter: 60_000, jitter: true });
		expect(normalizeOptions({ hedge: true }).hedge).toStrictEqual({ after: 100, max: undefined });
		expect(normalizeOptions({ hedge: {} }).hedge).toStrictEqual({ after: 100, max: undefined });
	});

	it('the values given, each where it belongs', () => {
		const signal = new AbortController().signal;
		const delay = (attempt: number): number => attempt;
		const fetch: typeof globalThis.fetch = async () => new Response('');
		const onProgress = (): void => {};
		const instance = ky.create({});
		const { headers, ...rest } = normalizeOptions({
			concurrency: 3,
			maxBuffer: 5000,
			chunkSize: 1000,
			signal,
			ky: instance,
			fetch,
			retry: { limit: 0, delay, backoffLimit: 0, maxRetryAfter: 0, jitter: false },
			stallTimeout: false,
			size: 0,
			allowUnpinned: true,
			hedge: false,
			overlap: false,
			onProgress,
			verify: false,
		});
		expect(rest).toStrictEqual({
			concurrency: 3,
			auto: undefined,
			maxBuffer: 5000,
			chunkSize: 1000,
			signal,
			ky: instance,
			fetch,
			retry: { limit: 0, delay, backoffLimit: 0, maxRetryAfter: 0, jitter: false },
			stallTimeout: false,
			size: 0,
			allowUnpinned: true,
			hedge: undefined,
			overlap: false,
			onProgress,
			integrity: undefined,
			verify: false,
			resume: undefined,
		});
		expect([...headers]).toEqual([]);
		// Something shaped like a signal is taken as one (a signal from another realm or polyfill).
		const like = { aborted: false, addEventListener() {} };
		expect(normalizeOptions({ signal: like as never }).signal).toBe(like);
		expect(normalizeOptions({ hedge: { after: 7, max: 0 } }).hedge).toStrictEqual({ after: 7, max: 0 });
	});

	it('the bounds themselves are allowed', () => {
		expect(normalizeOptions({ concurrency: 1 }).concurrency).toBe(1);
		expect(normalizeOptions({ concurrency: 256 }).concurrency).toBe(256);
		expect(normalizeOptions({ retry: 0 }).retry.limit).toBe(0);
		expect(normalizeOptions({ retry: 1000 }).retry.limit).toBe(1000);
		expect(normalizeOptions({ retry: { limit: 1000 } }).retry.limit).toBe(1000);
		expect(normalizeOptions({ stallTimeout: 1 }).stallTimeout).toBe(1);
		expect(normalizeOptions({ stallTimeout: 2 ** 31 - 1 }).stallTimeout).toBe(2 ** 31 - 1);
		expect(normalizeOptions({ hedge: { after: 1 } }).hedge).toStrictEqual({ after: 1, max: undefined });
		expect(normalizeOptions({ hedge: { after: 2 ** 31 - 1 } }).hedge).toStrictEqual({ after: 2 ** 31 - 1, max: undefined });
		expect(normalizeOptions({ size: Number.MAX_SAFE_INTEGER }).size).toBe(Number.MAX_SAFE_INTEGER);
		expect(normalizeOptions({ chunkSize: 1 })).toMatchObject({ chunkSize: 1, maxBuffer: 128 * MiB });
		// `maxBuffer` may be one chunk exactly.
		expect(normalizeOptions({ chunkSize: 1024, maxBuffer: 1024 })).toMatchObject({ chunkSize: 1024, maxBuffer: 1024 });
	});

	it('`concurrency` bounds: `max` defaults to 64 or `min`, may equal `min`, and is held to what the budget holds', () => {
		expect(normalizeOptions({ concurrency: { max: 3 } })).toMatchObject({ concurrency: 3, auto: { min: 1, max: 3 } });
		expect(normalizeOptions({ concurrency: { min: 5, max: 5 } })).toMatchObject({ concurrency: 5, auto: { min: 5, max: 5 } });
		// `max` follows a `min` above 64; the default budget grows to hold `min` connections' window.
		expect(normalizeOptions({ concurrency: { min: 100 } })).toMatchObject({ concurrency: 100, auto: { min: 100, max: 100 }, maxBuffer: 2 * 100 * 8 * MiB });
		expect(normalizeOptions({ concurrency: { min: 256, max: 256 } })).toMatchObject({ concurrency: 256, auto: { min: 256, max: 256 } });
		// A budget of exactly `min` chunks is enough.
		expect(normalizeOptions({ concurrency: { min: 3 }, chunkSize: 1024, maxBuffer: 3072 })).toMatchObject({ concurrency: 3, auto: { min: 3, max: 3 } });
		expect(normalizeOptions({ concurrency: { min: 2, max: 8 }, chunkSize: 1024, maxBuffer: 5000 })).toMatchObject({ concurrency: 4, auto: { min: 2, max: 4 } });
		// A fixed setting is not held to the budget (the window is, see "Memory").
		expect(normalizeOptions({ concurrency: 8, chunkSize: 1024, maxBuffer: 2048 })).toMatchObject({ concurrency: 8, auto: undefined });
	});

	it('`integrity` with a checkpoint past 0 that carries no `hash`: a TypeError naming both, as the README says', () => {
		const integrity = `sha256-${'A'.repeat(43)}=`;
		const resume = { url, offset: 10, size: 100, etag: '"e"' };
		const error = rejection({ integrity, resume });
		expect(error.constructor).toBe(TypeError);
		expect(error.message).toMatch(/^Expected `resume` to carry the hash of the 10 bytes before its offset \(`resume.hash`\), to verify `integrity` over the whole object/);
		// At offset 0 there is nothing before it to prove; without `integrity`, nothing to verify.
		expect(normalizeOptions({ integrity, resume: { ...resume, offset: 0 } }).resume).toMatchObject({ offset: 0 });
		expect(normalizeOptions({ resume }).resume).toMatchObject({ offset: 10 });
	});

	it('`headers` are added to the inherited ones (a Request input’s), over them, on a copy', () => {
		const inherited = new Headers({ 'x-a': '1', 'x-c': '3' });
		const { headers } = normalizeOptions({ headers: { 'X-A': '2', 'x-b': '1' } }, inherited);
		expect([...headers]).toEqual([['x-a', '2'], ['x-b', '1'], ['x-c', '3']]);
		expect([...inherited]).toEqual([['x-a', '1'], ['x-c', '3']]);
		expect([...normalizeOptions({}, inherited).headers]).toEqual([['x-a', '1'], ['x-c', '3']]);
		expect(normalizeOptions({}, inherited).headers).not.toBe(inherited);
	});
});

describe('normalizeOptions - an array is not an options object', () => {
	it.each([
		[{ concurrency: [4] }, "Expected `concurrency` to be an integer from 1 to 256, `'auto'` or `{ min, max }`, got `[object Array]` (object)"],
		[{ retry: [3] }, 'Expected `retry` to be a number or an object, got `[object Array]` (object)'],
		[{ hedge: [100] }, 'Expected `hedge` to be a boolean or an object, got `[object Array]` (object)'],
		[[], 'Expected `options` to be an object, got `[object Array]` (object)'],
	])('%o throws instead of being read as an object of options (`concurrency: [4]` ran as `auto` up to 16)', (options, message) => {
		expect(() => normalizeOptions(options as never)).toThrow(TypeError);
		expect(() => normalizeOptions(options as never)).toThrow(message);
	});

	it('`stallTimeout: true`: the message names `false` among the allowed values', () => {
		expect(() => normalizeOptions({ stallTimeout: true as never })).toThrow(TypeError);
		expect(() => normalizeOptions({ stallTimeout: true as never })).toThrow('Expected `stallTimeout` to be an integer from 1 to 2147483647 or `false`, got `true` (boolean)');
	});
});
