import { type Checkpoint, checkResumeDigest, normalizeResume, type ResumePoint } from './checkpoint.ts';
import {
	DEFAULT_BACKOFF_LIMIT,
	DEFAULT_AUTO_MAX,
	DEFAULT_AUTO_MIN,
	DEFAULT_CHUNK_SIZE,
	DEFAULT_CONCURRENCY,
	DEFAULT_HEDGE_AFTER,
	DEFAULT_MAX_BUFFER,
	DEFAULT_MAX_RETRY_AFTER,
	DEFAULT_RETRY_LIMIT,
	DEFAULT_STALL_TIMEOUT,
	MAX_CONCURRENCY,
	WINDOW_FACTOR,
} from './constants.ts';
import { type ExpectedDigest, parseIntegrity } from '../integrity/digest.ts';
import type { KyInstanceLike } from '../http/request.ts';
import { budgetLimit } from './policies/concurrency.ts';
import { describeValue } from '../utils/describe-value.ts';

/** Progress of a download, as bytes handed to the consumer in order. */
export interface Progress {
	/** Bytes of the object delivered to the stream so far, in order; a resumed download counts on from the checkpoint's offset. */
	loaded: number;
	/** Size of the object, when known. */
	total: number | undefined;
	/** Range requests in flight right now. */
	inFlight: number;
}

export interface RetryOptions {
	/**
	 * Attempts after the first for one chunk before the download fails with
	 * `RetriesExhaustedError`. The count restarts whenever an attempt brings new bytes, so a long
	 * chunk on a flaky link keeps going as long as it progresses.
	 * @default 5
	 */
	limit?: number;
	/**
	 * Delay in ms before retry number `attempt` (1-based), before jitter.
	 * @default attempt => 250 * 2 ** (attempt - 1)
	 */
	delay?: (attempt: number) => number;
	/**
	 * Upper bound of the computed delay, in ms.
	 * @default 10_000
	 */
	backoffLimit?: number;
	/**
	 * Upper bound for a server's `Retry-After`, in ms (a longer one is waited for this long).
	 * @default 60_000
	 */
	maxRetryAfter?: number;
	/**
	 * Randomize each computed delay between 50% and 100% of its value, so that parallel chunks
	 * that failed together do not retry together. `Retry-After` is honoured as given.
	 * @default true
	 */
	jitter?: boolean;
}

export interface HedgeOptions {
	/**
	 * Milliseconds without a new byte for a chunk after which its remaining range is also asked
	 * for on a fresh connection; whichever request gets there first wins and the other is
	 * aborted. A request still waiting for its headers gets at least 3 x the typical time to
	 * first byte seen in this download, so slow servers do not trigger it on every chunk. Each
	 * false alarm (the quiet request completes its chunk before a hedge delivered a byte) doubles
	 * it, up to 3.2 s.
	 * @default 100
	 */
	after?: number;
	/**
	 * Extra requests at most for the whole download.
	 * @default max(concurrency, 25% of the chunk count)
	 */
	max?: number;
}

/** Bounds of adaptive concurrency. */
export interface ConcurrencyBounds {
	/** @default 1 */
	min?: number;
	/** Also held to what `maxBuffer` allows: one chunk per connection at least. @default 64 */
	max?: number;
}

export interface ParallelGetOptions {
	/**
	 * Connections reading at once: range requests in flight at most, besides at most
	 * `max(1, ceil(concurrency / 4))` more for hedges of stalled requests and overlapping
	 * requests (see `hedge`, `overlap`). `1` makes one plain GET without `Range`.
	 *
	 * `'auto'` (or `{ min, max }`, which is `'auto'` within those bounds): start with 2 and add
	 * connections while the measured throughput rises by a meaningful share per added connection,
	 * drop them when it does not, and back off at once on 429, 503 and reset or refused
	 * connections (see README, "Adaptive concurrency"). `stats` reports the concurrency over time.
	 * @example { concurrency: 'auto', maxBuffer: 256 * 1024 ** 2 }
	 * @default 8
	 */
	concurrency?: number | 'auto' | ConcurrencyBounds;
	/**
	 * The memory budget, in bytes: bytes received and not yet read by the consumer never exceed
	 * it. The window is `2 x concurrency x chunkSize` within it, following the concurrency in
	 * use; at least `chunkSize`.
	 * @default 128 MiB, or `2 x concurrency x chunkSize` for a fixed `concurrency` when that is more
	 */
	maxBuffer?: number;
	/**
	 * Bytes per chunk: the unit of the window, of retries and of hedging. A range request asks
	 * for one chunk, or two in a row while the window has room. Memory held is at most about
	 * `2 x concurrency x chunkSize` (see README, "Memory").
	 * @default 8 * 1024 ** 2
	 */
	chunkSize?: number;
	/** Aborts the download: every request, timer and the stream (with the signal's reason). */
	signal?: AbortSignal;
	/** Extra request headers for every request (e.g. `Authorization`). */
	headers?: HeadersInit;
	/**
	 * A ky instance to make every request with: its hooks, `timeout`, `retry` and `fetch` apply to
	 * each range request (use it to add auth or sign URLs). Its retries happen before a response
	 * arrives; this library's own `retry` resumes chunks that fail after that.
	 * @default none: each request is one plain `fetch()`
	 */
	ky?: KyInstanceLike;
	/** A custom fetch (takes precedence over the ky instance's). */
	fetch?: typeof globalThis.fetch;
	/** Attempts per chunk and their backoff; a number is `{ limit }`. */
	retry?: number | RetryOptions;
	/**
	 * Milliseconds without a byte (waiting for headers, or mid-body) after which a request is
	 * abandoned and its chunk resumed on a new one. `false` disables it.
	 * @default 30_000
	 */
	stallTimeout?: number | false;
	/**
	 * Size of the object in bytes, when the caller knows it. Used where the server's
	 * `Content-Range` is unreadable (cross-origin without `Access-Control-Expose-Headers`), and
	 * checked against it where readable.
	 */
	size?: number;
	/**
	 * Go parallel even when the server gives no strong validator (only a weak ETag, or neither
	 * ETag nor a usable Last-Modified). Without one, a change of the object during the download
	 * can go undetected and two revisions could be spliced, so by default such objects are read
	 * with one plain GET instead.
	 * @default false
	 */
	allowUnpinned?: boolean;
	/**
	 * Straggler mitigation. With in-order output, one stalled chunk holds up everything behind
	 * it; a stalled chunk's remaining range is fetched again on a fresh connection while the
	 * quiet request stays in flight, the first to complete the chunk wins, the other is aborted,
	 * and no byte is duplicated. At most `max(1, ceil(concurrency / 4))` quiet requests are kept
	 * on top of `concurrency`. `false` turns it off.
	 * @default { after: 100 }
	 */
	hedge?: boolean | HedgeOptions;
	/**
	 * Overlap a slot's requests: when its request has about one time to first byte of bytes left,
	 * the slot's next request is sent, so that its first byte comes as the last one arrives
	 * instead of after an idle wait. Such early requests share the allowance of hedging: at most
	 * `max(1, ceil(concurrency / 4))` requests, hedges and early ones together, run on top of
	 * `concurrency`. `false` keeps requests in flight at `concurrency` (with `hedge: false` too).
	 * @default true
	 */
	overlap?: boolean;
	/** Called each time bytes are handed to the consumer. */
	onProgress?: (progress: Progress) => void;
	/**
	 * The digest the object's bytes must have, in the Subresource Integrity grammar of `fetch()`
	 * (`sha256-<base64>`, `sha384-...`, `sha512-...`; several separated by spaces, the strongest
	 * checked), or an object store's `md5-<base64>`, `crc32c-<base64>`, `crc64nvme-<base64>`, or
	 * hex after a colon (`sha256:<hex>`). The stream holds back its last bytes until the digest
	 * matches, and errors with `IntegrityError` instead of closing when it does not.
	 * @example 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
	 */
	integrity?: string;
	/**
	 * Verify a digest of the whole object that the server declares (`Repr-Digest`, `x-goog-hash`,
	 * ...; see README, "Integrity") when no `integrity` is given. `false` ignores them.
	 * @default true
	 */
	verify?: boolean;
	/**
	 * Continue a download from a checkpoint (`download.checkpoint()`, possibly from storage): the
	 * stream yields the bytes from `resume.offset` to the end, every request pinned to the
	 * checkpoint's validator from the first one on. A changed object fails with
	 * `RevisionChangedError` before a byte is handed out. A malformed checkpoint throws here, and
	 * so does `integrity` with a checkpoint past 0 that carries no `hash` of the same digest: the
	 * bytes before the offset could not be verified. With a `hash`, the whole object is verified.
	 */
	resume?: Checkpoint;
}

export interface NormalizedOptions {
	/** The fixed concurrency, or the most that `'auto'` may use (`auto.max`). */
	concurrency: number;
	/** `'auto'`: its bounds, `max` within the memory budget; undefined for a fixed concurrency. */
	auto: { min: number; max: number } | undefined;
	maxBuffer: number;
	chunkSize: number;
	signal: AbortSignal | undefined;
	headers: Headers;
	ky: KyInstanceLike | undefined;
	fetch: typeof globalThis.fetch | undefined;
	retry: Required<RetryOptions>;
	stallTimeout: number | false;
	size: number | undefined;
	allowUnpinned: boolean;
	/** undefined when hedging is off; `max` undefined means 25 % of the chunks, at least `concurrency`. */
	hedge: { after: number; max: number | undefined } | undefined;
	overlap: boolean;
	onProgress: ((progress: Progress) => void) | undefined;
	integrity: ExpectedDigest | undefined;
	verify: boolean;
	resume: ResumePoint | undefined;
}

/** `or` names the other values the option takes (`stallTimeout`'s `false`), for the message. */
export function integerOption(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, or = ''): number {
	if (value === undefined) return fallback;
	const expected = `Expected \`${name}\` to be an integer from ${min} to ${max}${or}, got ${describeValue(value)}`;
	if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(expected);
	if (value < min || value > max) throw new RangeError(expected);
	return value;
}

function functionOption<T>(name: string, value: unknown): T | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${describeValue(value)}`);
	return value as T;
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
	if (value === undefined) return fallback;
	if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describeValue(value)}`);
	return value;
}

const defaultDelay = (attempt: number): number => 250 * 2 ** (attempt - 1);

export function normalizeRetry(retry: unknown): Required<RetryOptions> {
	if (retry === undefined || typeof retry === 'number') {
		return {
			limit: integerOption('retry', retry, DEFAULT_RETRY_LIMIT, 0, 1000),
			delay: defaultDelay,
			backoffLimit: DEFAULT_BACKOFF_LIMIT,
			maxRetryAfter: DEFAULT_MAX_RETRY_AFTER,
			jitter: true,
		};
	}
	if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) {
		throw new TypeError(`Expected \`retry\` to be a number or an object, got ${describeValue(retry)}`);
	}
	const options = retry as RetryOptions;
	return {
		limit: integerOption('retry.limit', options.limit, DEFAULT_RETRY_LIMIT, 0, 1000),
		delay: functionOption<(attempt: number) => number>('retry.delay', options.delay) ?? defaultDelay,
		backoffLimit: integerOption('retry.backoffLimit', options.backoffLimit, DEFAULT_BACKOFF_LIMIT, 0),
		maxRetryAfter: integerOption('retry.maxRetryAfter', options.maxRetryAfter, DEFAULT_MAX_RETRY_AFTER, 0),
		jitter: booleanOption('retry.jitter', options.jitter, true),
	};
}

function normalizeHedge(hedge: unknown): NormalizedOptions['hedge'] {
	if (hedge === false) return undefined;
	if (hedge === undefined || hedge === true) return { after: DEFAULT_HEDGE_AFTER, max: undefined };
	if (typeof hedge !== 'object' || hedge === null || Array.isArray(hedge)) {
		throw new TypeError(`Expected \`hedge\` to be a boolean or an object, got ${describeValue(hedge)}`);
	}
	const options = hedge as HedgeOptions;
	return {
		after: integerOption('hedge.after', options.after, DEFAULT_HEDGE_AFTER, 1, 2_147_483_647),
		max: options.max === undefined ? undefined : integerOption('hedge.max', options.max, 0, 0),
	};
}

/** `concurrency`: a fixed number, or the bounds of `'auto'` (`max` not yet held to the budget). */
function normalizeConcurrency(value: unknown): { concurrency: number; auto: { min: number; max: number } | undefined } {
	if (value === 'auto') return { concurrency: DEFAULT_AUTO_MAX, auto: { min: DEFAULT_AUTO_MIN, max: DEFAULT_AUTO_MAX } };
	if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
		const bounds = value as ConcurrencyBounds;
		const min = integerOption('concurrency.min', bounds.min, DEFAULT_AUTO_MIN, 1, MAX_CONCURRENCY);
		const max = integerOption('concurrency.max', bounds.max, Math.max(min, DEFAULT_AUTO_MAX), 1, MAX_CONCURRENCY);
		if (max < min) throw new RangeError(`Expected \`concurrency.max\` to be at least \`concurrency.min\` (${min}), got ${describeValue(max)}`);
		return { concurrency: max, auto: { min, max } };
	}
	if (value !== undefined && typeof value !== 'number') {
		throw new TypeError(`Expected \`concurrency\` to be an integer from 1 to ${MAX_CONCURRENCY}, \`'auto'\` or \`{ min, max }\`, got ${describeValue(value)}`);
	}
	return { concurrency: integerOption('concurrency', value, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY), auto: undefined };
}

/** Request headers that this library sets itself and a caller must not. */
const reservedHeaders = ['range', 'if-range', 'if-match', 'if-unmodified-since', 'if-none-match', 'if-modified-since'];

export function normalizeHeaders(name: string, value: unknown, into = new Headers()): Headers {
	if (value === undefined) return into;
	let headers: Headers;
	try {
		headers = new Headers(value as HeadersInit);
	} catch (error) {
		throw new TypeError(`Expected \`${name}\` to be a Headers, a record or a list of pairs, got ${describeValue(value)}`, { cause: error });
	}
	for (const [key, headerValue] of headers) {
		if (reservedHeaders.includes(key)) {
			throw new TypeError(`\`${name}\` must not contain \`${key}\`: the library sets it on each request (got ${describeValue(headerValue)})`);
		}
		into.set(key, headerValue);
	}
	return into;
}

/** Validates every option eagerly and returns a fresh object; the caller's object is not mutated. */
export function normalizeOptions(options: ParallelGetOptions | undefined, inherited?: Headers): NormalizedOptions {
	if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
		throw new TypeError(`Expected \`options\` to be an object, got ${describeValue(options)}`);
	}
	const o = options ?? {};
	const signal = o.signal;
	if (signal !== undefined && !(typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function')) {
		throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}`);
	}
	const ky = o.ky;
	if (ky !== undefined && typeof ky !== 'function') {
		throw new TypeError(`Expected \`ky\` to be a ky instance (a function), got ${describeValue(ky)}`);
	}
	const size = o.size === undefined ? undefined : integerOption('size', o.size, 0, 0);
	const stallTimeout = o.stallTimeout === false ? false : integerOption('stallTimeout', o.stallTimeout, DEFAULT_STALL_TIMEOUT, 1, 2_147_483_647, ' or `false`');
	const chunkSize = integerOption('chunkSize', o.chunkSize, DEFAULT_CHUNK_SIZE, 1);
	let { concurrency, auto } = normalizeConcurrency(o.concurrency);
	// Unless given, the budget is what the window needed before there was one: a fixed setting
	// holds what it always held, and the smallest `'auto'` may use fits.
	const fallback = Math.max(DEFAULT_MAX_BUFFER, WINDOW_FACTOR * (auto?.min ?? concurrency) * chunkSize);
	const maxBuffer = integerOption('maxBuffer', o.maxBuffer, fallback, 1);
	if (maxBuffer < chunkSize) {
		throw new RangeError(`Expected \`maxBuffer\` to be at least \`chunkSize\` (${chunkSize}), got ${describeValue(maxBuffer)}`);
	}
	if (auto) {
		// Every connection needs one chunk of the budget at least: then the budget holds `min`
		// connections, and `max` is held to as many as it holds.
		if (auto.min * chunkSize > maxBuffer) {
			throw new RangeError(`Expected \`maxBuffer\` to hold \`concurrency.min\` x \`chunkSize\` (${auto.min * chunkSize}), got ${describeValue(maxBuffer)}`);
		}
		const max = Math.min(auto.max, budgetLimit(maxBuffer, chunkSize));
		auto = { min: auto.min, max };
		concurrency = max;
	}
	const integrity = parseIntegrity(o.integrity);
	const resume = normalizeResume(o.resume, size);
	checkResumeDigest(resume, integrity);
	return {
		concurrency,
		auto,
		maxBuffer,
		chunkSize,
		signal,
		headers: normalizeHeaders('headers', o.headers, inherited === undefined ? new Headers() : new Headers(inherited)),
		ky,
		fetch: functionOption<typeof globalThis.fetch>('fetch', o.fetch),
		retry: normalizeRetry(o.retry),
		stallTimeout,
		size,
		allowUnpinned: booleanOption('allowUnpinned', o.allowUnpinned, false),
		hedge: normalizeHedge(o.hedge),
		overlap: booleanOption('overlap', o.overlap, true),
		onProgress: functionOption<(progress: Progress) => void>('onProgress', o.onProgress),
		integrity,
		verify: booleanOption('verify', o.verify, true),
		resume,
	};
}
