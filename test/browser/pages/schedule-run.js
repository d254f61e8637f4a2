// Page side of the Chromium fault schedules (test/browser/fault-schedules.test.ts): the download
// options a schedule drew, built the same way in the page and in the test worker, and the
// consumer it drew (slow reads, a pause, a cancel at byte k, an abort at t, tee), run against a
// stream. What comes back is plain data: how the read ended, the error's chain, and the length
// and SHA-256 of the bytes read, which the test compares with the revisions' in Node.
import { readDrawn } from './read-drawn.js';

const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The options of a download, from what a schedule drew (`{ chunkSize, size, options }`), as the
 * Node test builds them: retries a millisecond apart, Retry-After capped.
 */
export function libraryOptions({ chunkSize, size, options: o, integrity }) {
	return {
		chunkSize,
		concurrency: o.auto ? { min: 1, max: o.concurrency } : o.concurrency,
		...(o.maxBufferChunks === null ? {} : { maxBuffer: o.maxBufferChunks * chunkSize }),
		hedge: o.hedge === false ? false : { after: o.hedge.after, ...(o.hedge.max === null ? {} : { max: o.hedge.max }) },
		overlap: o.overlap,
		stallTimeout: o.stallTimeout,
		retry: { limit: o.retryLimit, delay: () => 1, jitter: false, maxRetryAfter: o.maxRetryAfter },
		...(o.givenSize === 'none' ? {} : { size: o.givenSize === 'right' ? size : size + 1 }),
		...(integrity === undefined ? {} : { integrity }),
	};
}

/** The error and its causes, as data: name, message, code of each link. */
export function errorChain(error) {
	const chain = [];
	const seen = new Set();
	let link = error;
	while (link !== undefined && link !== null && !seen.has(link) && chain.length < 8) {
		seen.add(link);
		if (typeof link !== 'object') {
			chain.push({ name: typeof link, message: String(link) });
			break;
		}
		chain.push({ name: link.name, message: String(link.message ?? link), ...(typeof link.code === 'string' ? { code: link.code } : {}) });
		link = link.cause;
	}
	return chain;
}

const rejections = [];
const expected = new WeakSet();
addEventListener('unhandledrejection', (event) => {
	if (typeof event.reason === 'object' && event.reason !== null && expected.has(event.reason)) return;
	rejections.push(errorChain(event.reason));
});

addEventListener('error', (event) => {
	rejections.push([{ name: 'uncaught', message: String(event.message ?? event.error) }, ...errorChain(event.error)]);
});

/**
 * Marks the reason `promise` may reject with as seen. Chromium reports the promise handed to a
 * FetchEvent's `respondWith()` as unhandled when it rejects, though that rejection is the
 * worker's answer (a network error for the page): only the library's own are wanted.
 */
export function answered(promise) {
	promise.catch((reason) => {
		if (typeof reason === 'object' && reason !== null) expected.add(reason);
	});
	return promise;
}

/** Unhandled rejections and uncaught errors seen in this realm since the last call. */
export function takeRejections() {
	return rejections.splice(0);
}

/**
 * Reads a stream as `consumer` says, within `hangMs`. `open()` gives the stream (it may reject:
 * a fetch that fails); `abort(reason)` is the caller's abort, armed `ending.ms` after the start.
 */
export async function consume({ open, abort, consumer, size, hangMs }) {
	const abortReason = new Error("the caller's abort");
	const cancelReason = new Error("the consumer's cancel");
	const pieces = [];
	let read = 0;
	let zeroLength = 0;
	let reader;
	let other;
	const { ending } = consumer;
	const abortTimer = ending.kind === 'abort' ? setTimeout(() => abort(abortReason), ending.ms) : undefined;
	const run = async () => {
		try {
			let readable = await open();
			if (consumer.tee) [readable, other] = readable.tee();
			reader = readable.getReader();
		} catch (error) {
			return { kind: 'error', error };
		}
		return readDrawn({
			reader,
			other,
			consumer,
			size,
			cancelReason,
			onPiece: (value) => {
				if (value.byteLength === 0) zeroLength++;
				pieces.push(value);
				read += value.byteLength;
			},
		});
	};
	let hangTimer;
	const hang = new Promise((resolve) => {
		hangTimer = setTimeout(() => resolve({ kind: 'hang' }), hangMs);
	});
	const outcome = await Promise.race([run(), hang]);
	clearTimeout(hangTimer);
	clearTimeout(abortTimer);
	if (outcome.kind === 'hang') {
		abort(new Error('hang'));
		reader?.cancel().catch(() => {});
	}
	await other?.cancel(cancelReason).catch(() => {});
	const all = new Uint8Array(read);
	let offset = 0;
	for (const piece of pieces) {
		all.set(piece, offset);
		offset += piece.byteLength;
	}
	return {
		kind: outcome.kind,
		...(outcome.kind === 'error' ? { error: errorChain(outcome.error), isAbortReason: outcome.error === abortReason } : {}),
		length: read,
		sha256: hex(await crypto.subtle.digest('SHA-256', all)),
		zeroLength,
	};
}

/**
 * One download in the page with `ParallelGetStream`, as a schedule says; with the outcome, the
 * counters (once nothing is in flight, or `settleMs` after the end) and the progress reports.
 */
export async function runInPage(library, url, drawn, hangMs, settleMs) {
	const controller = new AbortController();
	const progress = [];
	const download = new library.ParallelGetStream(url, {
		...libraryOptions(drawn),
		signal: controller.signal,
		...(drawn.options.progress ? { onProgress: (report) => void progress.push({ loaded: report.loaded, total: report.total }) } : {}),
	});
	const outcome = await consume({
		open: async () => download.readable,
		abort: (reason) => controller.abort(reason),
		consumer: drawn.consumer,
		size: drawn.size,
		hangMs,
	});
	const info = await download.info.catch(() => undefined);
	// The download closes its requests at once, and counts them closed as each one's abort settles.
	const until = performance.now() + settleMs;
	while (download.stats.inFlight > 0 && performance.now() < until) await sleep(10);
	// A rejection nobody handled surfaces a turn or two after it happened.
	await sleep(1);
	return { ...outcome, stats: { ...download.stats }, info: info && { size: info.size, mode: info.mode }, progress: progress.slice(0, 5000), rejections: takeRejections() };
}

/** One download through the test worker (`/sw/dl/...`), read from the page's fetch() as a schedule says. */
export async function runThroughWorker(path, drawn, hangMs) {
	const controller = new AbortController();
	const query = encodeURIComponent(JSON.stringify({ chunkSize: drawn.chunkSize, size: drawn.size, options: drawn.options, integrity: drawn.integrity }));
	let status = 0;
	const outcome = await consume({
		open: async () => {
			const response = await fetch(`/sw/dl${path}?drawn=${query}`, { signal: controller.signal });
			status = response.status;
			return response.body ?? new ReadableStream({ start: (c) => c.close() });
		},
		abort: (reason) => controller.abort(reason),
		consumer: drawn.consumer,
		size: drawn.size,
		hangMs,
	});
	await sleep(1);
	return { ...outcome, status, rejections: takeRejections() };
}
