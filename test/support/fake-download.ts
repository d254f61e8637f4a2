/**
 * A download as the request parts see it (`Requests`, `readInto`, `RangeRequest`), with the real
 * plan and requests and no network: `send` answers each request with the next response queued by
 * the test, and bodies are fed piece by piece. For unit tests of those parts.
 */
import type { Download } from '../../src/core/download.ts';
import type { NormalizedOptions } from '../../src/core/options.ts';
import { Plan } from '../../src/core/plan.ts';
import { Requests } from '../../src/core/request.ts';
import { type Place, Slots } from '../../src/core/slots.ts';
import { type DownloadStats, zeroStats } from '../../src/core/stats.ts';
import type { Pin } from '../../src/http/validators.ts';
import type { Verifier } from '../../src/integrity/verifier.ts';

export const URL = 'http://127.0.0.1/object.bin';

/** A response body the test feeds: `push` a piece, `end` it, or `fail` it; `cancelled` lists the reasons it was cancelled with. */
export interface Feed {
	stream: ReadableStream<Uint8Array<ArrayBuffer>>;
	push(bytes: Uint8Array<ArrayBuffer>): void;
	end(): void;
	fail(error: unknown): void;
	readonly cancelled: unknown[];
}

export function feed(): Feed {
	let controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
	const cancelled: unknown[] = [];
	const stream = new ReadableStream<Uint8Array<ArrayBuffer>>(
		{
			start(started) {
				controller = started;
			},
			cancel(reason) {
				cancelled.push(reason);
			},
		},
		{ highWaterMark: 0 },
	);
	return {
		stream,
		push: (bytes) => controller.enqueue(bytes),
		end: () => controller.close(),
		fail: (error) => controller.error(error),
		cancelled,
	};
}

/** `length` bytes of the object from `offset` on: byte `i` of the object is `i % 251`, so a byte out of place shows. */
export function bytesAt(offset: number, length: number): Uint8Array<ArrayBuffer> {
	const bytes = new Uint8Array(new ArrayBuffer(length));
	for (let i = 0; i < length; i++) bytes[i] = (offset + i) % 251;
	return bytes;
}

/** Everything a chunk holds for the consumer, taken as the consumer would, as one array; and the pieces' sizes. */
export function takeAll(download: FakeDownload, chunk: { take(): Uint8Array | undefined }): { bytes: number[]; sizes: number[] } {
	const bytes: number[] = [];
	const sizes: number[] = [];
	for (let piece = chunk.take(); piece; piece = chunk.take()) {
		bytes.push(...piece);
		sizes.push(piece.byteLength);
		download.counters.bufferedBytes -= piece.byteLength;
	}
	return { bytes, sizes };
}

/** Lets every pending promise and stream read run (the fakes do no I/O). */
export function settle(): Promise<void> {
	return new Promise((resolve) => setImmediate(resolve));
}

export interface FakeOptions {
	size?: number | undefined;
	chunkSize?: number;
	concurrency?: number;
	maxBuffer?: number;
	stallTimeout?: number | false;
	hedgeAfter?: number | undefined;
	pin?: Pin | undefined;
	totalFromCaller?: boolean;
	overlap?: boolean;
	verifier?: Pick<Verifier, 'heldBytes'> | undefined;
	loading?: Promise<void> | undefined;
	/** Discovery's verdict for a first round sent along with it. */
	discovered?: Promise<boolean>;
	retryLimit?: number;
}

export interface FakeDownload extends Download {
	counters: DownloadStats;
	hedgeAfter: number;
	settled: boolean;
	verifier: Verifier | undefined;
	loading: Promise<void> | undefined;
	/** The answers `send` hands out, in order; a function is called with the request's headers. */
	readonly answers: (Response | Error | ((headers: Headers, signal: AbortSignal) => Response | Promise<Response>))[];
	/** The headers of each request sent. */
	readonly sent: Headers[];
	readonly failures: unknown[];
	readonly wakes: number;
	/** The consumer took bytes: the reads waiting for room go on. */
	makeRoom(): void;
	/** Reads waiting for room. */
	readonly waitingForRoom: number;
	facts: { pin: Pin | undefined; totalFromCaller: boolean; crossOrigin: boolean };
	slots: Slots;
	/** The places given back (`ended`), the faults reported (`failed`), the answers checked, the digest checks, the schedules. */
	readonly endedPlaces: Place[];
	readonly retried: unknown[];
	readonly checkedAnswers: Response[];
	readonly digestChecks: [Response, { start: number; end: number }][];
	readonly schedules: number;
}

export function fakeDownload(options: FakeOptions = {}): FakeDownload {
	const { size, chunkSize = 10, concurrency = 1, maxBuffer, stallTimeout = false, hedgeAfter = 100, pin, totalFromCaller = false } = options;
	const plan = new Plan(chunkSize, concurrency, maxBuffer);
	plan.size = size;
	const stop = new AbortController();
	let roomWaiters: (() => void)[] = [];
	const counters = zeroStats();
	const answers: FakeDownload['answers'] = [];
	const sent: Headers[] = [];
	const failures: unknown[] = [];
	let wakes = 0;
	let schedules = 0;
	const endedPlaces: Place[] = [];
	const retried: unknown[] = [];
	const checkedAnswers: Response[] = [];
	const digestChecks: [Response, { start: number; end: number }][] = [];
	const download = {
		url: URL,
		options: {
			concurrency,
			headers: undefined,
			stallTimeout,
			hedge: hedgeAfter === undefined ? undefined : { after: hedgeAfter, max: undefined },
			overlap: options.overlap ?? false,
			size,
			retry: { limit: options.retryLimit ?? 2, delay: () => 0, backoffLimit: 0, maxRetryAfter: 0, jitter: false },
		} as unknown as NormalizedOptions,
		async send(_url: string, headers: Headers, signal: AbortSignal): Promise<Response> {
			sent.push(headers);
			const answer = answers.shift();
			if (answer === undefined) throw new Error('no answer queued');
			if (answer instanceof Error) throw answer;
			return typeof answer === 'function' ? answer(headers, signal) : answer;
		},
		counters,
		plan,
		slots: new Slots(concurrency),
		requests: undefined as unknown as Requests,
		facts: { pin, totalFromCaller, crossOrigin: false },
		verifier: options.verifier as Verifier | undefined,
		loading: options.loading,
		checkDigest(response: Response, range: { start: number; end: number }) {
			digestChecks.push([response, range]);
		},
		hedgeAfter: hedgeAfter ?? 100,
		settled: false,
		signal: stop.signal,
		fail(error: unknown) {
			failures.push(error);
			if (download.settled) return;
			download.settled = true;
			stop.abort(error);
			download.requests.abortAll(error);
		},
		schedule() {
			schedules++;
		},
		wake() {
			wakes++;
		},
		room() {
			return new Promise<void>((resolve) => roomWaiters.push(resolve));
		},
		failed(error: unknown) {
			retried.push(error);
		},
		ended(place: Place) {
			endedPlaces.push(place);
			download.slots.leave(place);
		},
		discovered: options.discovered ?? Promise.resolve(true),
		checked(response: Response) {
			checkedAnswers.push(response);
		},
		endedPlaces,
		retried,
		checkedAnswers,
		digestChecks,
		get schedules() {
			return schedules;
		},
		answers,
		sent,
		failures,
		get wakes() {
			return wakes;
		},
		makeRoom() {
			const waiting = roomWaiters;
			roomWaiters = [];
			for (const resolve of waiting) resolve();
		},
		get waitingForRoom() {
			return roomWaiters.length;
		},
	};
	download.requests = new Requests(download as unknown as Download);
	return download as unknown as FakeDownload;
}

/** A 206 with `body` (a fed stream, or none). */
export function partial(body: ReadableStream<Uint8Array<ArrayBuffer>> | null, headers: Record<string, string> = {}): Response {
	return new Response(body, { status: 206, headers });
}
