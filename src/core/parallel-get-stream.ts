import { mayWantDigest, WANT_REPR_DIGEST } from '../http/digest-headers.ts';
import { createSend } from '../http/request.ts';
import { ParallelGetError } from '../errors/parallel-get-error.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { Bytes } from './chunk.ts';
import { type DownloadInfo, type DownloadStats, Engine } from './engine.ts';
import { normalizeInput } from './input.ts';
import { normalizeOptions, type ParallelGetOptions } from './options.ts';

/** The `ReadableStream` constructor to build on: the global one, or a ponyfill's. */
export type ReadableStreamConstructor = typeof globalThis.ReadableStream;

/**
 * Downloads one HTTP object over parallel Range requests and exposes it as a single in-order
 * `ReadableStream<Uint8Array>`.
 *
 * @example
 * ```ts
 * const download = new ParallelGetStream('https://example.com/big.tar.gz', { concurrency: 8 });
 * await download.readable.pipeThrough(new DecompressionStream('gzip')).pipeTo(sink);
 * console.log(await download.info); // { size, etag, mode: 'parallel', ... }
 * ```
 */
export class ParallelGetStream {
	/**
	 * The stream class used for `readable`. The `parallel-get-stream/ponyfill` entry point
	 * overrides it with web-streams-polyfill's, for runtimes without a global `ReadableStream`.
	 */
	static ReadableStream: ReadableStreamConstructor | undefined = globalThis.ReadableStream;

	/** The object's bytes, in order. Reading drives the download; cancelling stops it. */
	readonly readable: ReadableStream<Bytes>;
	/**
	 * Resolves once the first response has been checked (size, validators, mode); rejects with
	 * the stream's error if that fails. Awaiting it is optional.
	 */
	readonly info: Promise<DownloadInfo>;
	readonly #engine: Engine;

	/**
	 * @param input An http(s) URL, or a GET `Request` whose headers, signal and credentials are used.
	 * @param options See {@link ParallelGetOptions}. Invalid options throw `TypeError` or `RangeError` here.
	 */
	constructor(input: string | URL | Request, options?: ParallelGetOptions) {
		const Stream = (new.target as typeof ParallelGetStream).ReadableStream;
		if (typeof Stream !== 'function') {
			throw new ParallelGetError(
				'ERR_NO_READABLE_STREAM',
				'This runtime has no global ReadableStream: import from `parallel-get-stream/ponyfill` instead',
			);
		}
		const request = normalizeInput(input);
		const normalized = normalizeOptions(options, request.headers);
		// Asks the server for a digest to verify (RFC 9530 §4), where that costs no preflight.
		if (normalized.verify && !normalized.integrity && !normalized.headers.has('want-repr-digest') && mayWantDigest(request.url)) {
			normalized.headers.set('want-repr-digest', WANT_REPR_DIGEST);
		}
		const signals = [request.signal, normalized.signal].filter((signal): signal is AbortSignal => signal !== undefined);
		const send = createSend(normalized.ky, normalized.fetch, request.settings);
		const engine = new Engine(request.url, normalized, send, signals);
		this.#engine = engine;
		this.info = engine.info;
		this.readable = new Stream<Bytes>(
			{
				start: (controller) => engine.start(controller),
				pull: (controller) => engine.pull(controller),
				cancel: (reason) => engine.cancel(reason),
			},
			// Read-ahead is the engine's own bounded window; the stream itself holds nothing extra.
			{ highWaterMark: 0 },
		);
	}

	/**
	 * Where the download stands, to continue it later with the `resume` option: the URL, the
	 * offset of the bytes handed out so far (everything before it is final), the size and the
	 * validator it is pinned to; with a digest being verified, the hash of the bytes before the
	 * offset (`hash`), where the hash can save its state (README "Resume later"). Plain data
	 * (JSON). Undefined until the first response has been checked, for a download that cannot be
	 * resumed (no strong validator, no known size, a server that does not do ranges), and after
	 * `ERR_INTEGRITY`. A consumer whose sink writes behind the stream records the offset it has
	 * made durable instead: `{ ...download.checkpoint(), offset: written }`, without the `hash`
	 * unless `written` is the offset (the hash is of the bytes handed out).
	 */
	checkpoint(): Checkpoint | undefined {
		return this.#engine.checkpoint();
	}

	/** Counters: requests made, in flight, bytes buffered (now and peak), retries. A snapshot. */
	get stats(): DownloadStats {
		return this.#engine.stats;
	}
}
