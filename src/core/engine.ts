import type { ByteRange } from '../errors/parallel-get-error.ts';
import { isParallelGetError } from '../errors/parallel-get-error.ts';
import { RetriesExhaustedError } from '../errors/retries-exhausted-error.ts';
import { StallError } from '../errors/stall-error.ts';
import { UnexpectedResponseError } from '../errors/unexpected-response-error.ts';
import { checkPartial, discoveredSize, encodedError, isEncoded, statusError } from '../http/checks.ts';
import { parseContentLength, parseContentRange, rangeHeader } from '../http/content-range.ts';
import type { Send } from '../http/request.ts';
import { type Pin, pinFromHeaders, pinHeaders } from '../http/validators.ts';
import { delay, Watchdog } from '../utils/abort.ts';
import { type Bytes, Chunk, tailShare } from './chunk.ts';
import {
	CONSUMER_WAIT_PERIOD,
	CONSUMER_WAIT_SHARE,
	HEDGE_BUDGET_FRACTION,
	HEDGES_PER_CHUNK,
	MAX_HEDGE_AFTER,
	maxHedging,
	STEALS_PER_SLOT,
	WINDOW_FACTOR,
} from './constants.ts';
import { BusyShare } from '../utils/busy-share.ts';
import type { NormalizedOptions } from './options.ts';

/** What discovery learned about the object. */
export interface DownloadInfo {
	/** Bytes in the object; undefined when the server did not say (a 200 without Content-Length, or an encoded body). */
	size: number | undefined;
	etag?: string;
	lastModified?: string;
	contentType?: string;
	/**
	 * `parallel`: range requests in parallel, pinned to one revision. `single`: one response
	 * carries the whole object (server ignored Range, object no larger than one chunk, no strong
	 * validator, or `concurrency: 1`). `empty`: a 0-byte object.
	 */
	mode: 'parallel' | 'single' | 'empty';
}

/** Counters for tests, benchmarks and progress displays. */
export interface DownloadStats {
	/** Requests sent, discovery and retries included. */
	requests: number;
	/** Attempts that were retried after a transient fault. */
	retries: number;
	/** Extra requests made for stalled chunks, and how many chunks such a request completed first. */
	hedges: number;
	hedgesWon: number;
	/**
	 * Times a free slot, with no chunk left to start, took over the back part of what the busiest
	 * slot still had to read (tail stealing), so that all slots finish together.
	 */
	steals: number;
	/** Times a slot was let go to start its next request before its current one ended (`overlap`). */
	overlaps: number;
	/** Requests in flight now, and the most at any time. */
	inFlight: number;
	maxInFlight: number;
	/** Bytes received and not yet handed to the consumer, now and at most. */
	bufferedBytes: number;
	maxBufferedBytes: number;
	/** Bytes received from the network and kept (duplicates of a hedge not counted). */
	bytesReceived: number;
	/** Bytes handed to the consumer, in order. */
	loaded: number;
}

interface Opened {
	response: Response;
	/** Absolute offset of the first body byte, and of the last byte asked for (Infinity: to the end). */
	offset: number;
	end: number;
	controller: AbortController;
	watchdog: Watchdog;
	/** Ends the request's accounting; aborts its connection unless the body was read to its end. */
	release: (complete?: boolean) => void;
}

const noop = (): void => {};

/** Where a response's pace is measured from: when its first bytes came, and the offset after them. */
interface Pace {
	at: number;
	offset: number;
}

/** How one request of a run ended; see `Engine.attempt`. */
type Outcome = 'done' | 'superseded' | 'detached' | 'restarted';

/** Abort reason of a quiet request that hedging asks for again at once. */
const RESTART = new Error('quiet: asked for again on a fresh request');

/** Longest stretch, in ms, that pull() hands out bytes without letting the event loop turn. */
const TURN_BUDGET_MS = 4;

/**
 * A task after pending I/O: setImmediate in Node, Deno and Bun; a message in browsers, whose
 * nested setTimeout(0) is clamped to 4 ms. The channel is closed at once, so it keeps nothing alive.
 */
function nextMacrotask(callback: () => void): void {
	const { setImmediate } = globalThis as { setImmediate?: (callback: () => void) => unknown };
	if (typeof setImmediate === 'function') {
		setImmediate(callback);
		return;
	}
	if (typeof MessageChannel !== 'function') {
		setTimeout(callback, 0);
		return;
	}
	const { port1, port2 } = new MessageChannel();
	port1.onmessage = () => {
		port1.close();
		callback();
	};
	port2.postMessage(undefined);
}

/**
 * The download: discovery, a window of chunk requests, each resumed after faults, and a pull
 * source that hands bytes out in order. Memory: chunks start only within
 * `WINDOW_FACTOR x concurrency` chunks of the oldest one the consumer has not finished reading,
 * so bytes held never exceed that many chunks, whatever the object's size or the reader's pace.
 */
export class Engine {
	readonly info: Promise<DownloadInfo>;
	private resolveInfo!: (info: DownloadInfo) => void;
	private rejectInfo!: (error: unknown) => void;
	private infoSettled = false;

	private readonly url: string;
	private readonly options: NormalizedOptions;
	private readonly send: Send;
	private readonly signals: AbortSignal[];
	/** Aborted when the download stops: sleeps between retries listen to it. */
	private readonly abort = new AbortController();
	/** Controllers of every request in flight. */
	private readonly requests = new Set<AbortController>();
	private controller: ReadableStreamDefaultController<Bytes> | undefined;

	private readonly chunks = new Map<number, Chunk>();
	private size: number | undefined;
	private pin: Pin | undefined;
	private totalChunks: number | undefined;
	private nextEmit = 0;
	private nextStart = 1;
	private running = 0;
	/**
	 * Requests a slot has left behind because they went quiet (hedged): still in flight and still
	 * feeding their chunk if they wake up, but no longer holding the slot. At most `maxHedging`.
	 */
	private detached = 0;
	/**
	 * Runs whose slot was let go before they ended (overlap): still reading their last bytes, no
	 * longer holding their slot. With `detached`, at most `maxHedging` at once.
	 */
	private early = 0;
	/**
	 * The hedge delay in use: `hedge.after`, doubled each time a hedged chunk is completed by the
	 * request that went quiet before its hedges delivered a byte (a false alarm: the network
	 * delivers in bursts), up to `MAX_HEDGE_AFTER`.
	 */
	private hedgeAfter: number;
	/** Requests sent whose headers have not come yet. */
	private readonly awaitingHeaders = new Set<AbortController>();
	/** Detaches a slot's request in flight from its slot, by controller. */
	private readonly detachers = new Map<AbortController, () => void>();
	/** Requests a slot made after leaving a quiet one behind: their completed chunks are hedges won. */
	private readonly hedgeRequests = new WeakSet<AbortController>();
	private hedgeTimer: ReturnType<typeof setTimeout> | undefined;
	/** Smoothed time to first byte (headers) of this download's requests, in ms. */
	private ttfb: number | undefined;
	private settled = false;
	/**
	 * The total came from `options.size` because Content-Range was unreadable (cross-origin, not
	 * exposed): the last chunk is then asked for open-ended so that its Content-Length, always
	 * readable, shows whether the object really ends there.
	 */
	private totalFromCaller = false;
	/** Discovery was answered cross-origin (CORS): some headers may be hidden. */
	private crossOrigin = false;
	private waiter: (() => void) | undefined;
	/** A single response waiting for the consumer to make room in the window (see `readWithin`). */
	private roomWaiter: (() => void) | undefined;
	/** When pull() last waited for the event loop (bytes to arrive, or a turn of its own). */
	private turnStartedAt = performance.now();
	/** How much of its time the consumer spends waiting for bytes, lately. */
	private readonly consumerWaiting = new BusyShare(CONSUMER_WAIT_PERIOD);
	/** When the download started (`start()`), for its pace so far. */
	private startedAt = performance.now();

	private readonly counters: DownloadStats = {
		requests: 0,
		retries: 0,
		hedges: 0,
		hedgesWon: 0,
		steals: 0,
		overlaps: 0,
		inFlight: 0,
		maxInFlight: 0,
		bufferedBytes: 0,
		maxBufferedBytes: 0,
		bytesReceived: 0,
		loaded: 0,
	};

	constructor(url: string, options: NormalizedOptions, send: Send, signals: AbortSignal[]) {
		this.url = url;
		this.options = options;
		this.send = send;
		this.signals = signals;
		this.hedgeAfter = options.hedge?.after ?? 0;
		this.info = new Promise<DownloadInfo>((resolve, reject) => {
			this.resolveInfo = resolve;
			this.rejectInfo = reject;
		});
		// Nobody has to await `info`: its rejection mirrors the stream's error, which the reader sees.
		this.info.catch(noop);
	}

	get stats(): DownloadStats {
		return { ...this.counters };
	}

	/** The stream's `start()`: discovery begins at once, so `info` settles even before a read. */
	start(controller: ReadableStreamDefaultController<Bytes>): void {
		this.controller = controller;
		this.startedAt = performance.now();
		for (const signal of this.signals) {
			if (signal.aborted) {
				this.fail(signal.reason);
				return;
			}
			signal.addEventListener('abort', this.onAbort, { once: true });
		}
		const discovery = this.options.concurrency === 1 ? this.single() : this.discover();
		discovery.catch((error: unknown) => this.fail(error));
	}

	/** The stream's `pull()`: hands out the head chunk's bytes; waits while there are none. */
	async pull(controller: ReadableStreamDefaultController<Bytes>): Promise<void> {
		// A consumer reading a backlog (chunks that completed while the head was still arriving)
		// is served from microtasks alone; without a pause now and then no socket is read until
		// the backlog is gone, and every connection stalls meanwhile.
		if (performance.now() - this.turnStartedAt > TURN_BUDGET_MS) await this.nextTurn();
		for (;;) {
			if (this.settled) return;
			const head = this.chunks.get(this.nextEmit);
			let delivered = 0;
			let advanced = false;
			if (head) {
				for (let piece = head.take(); piece; piece = head.take()) {
					controller.enqueue(piece);
					delivered += piece.byteLength;
					if ((controller.desiredSize ?? 0) <= 0) break;
				}
				if (head.drained) {
					// A tail split off the head comes next, under the same index.
					if (head.tail) this.chunks.set(this.nextEmit, head.tail);
					else {
						this.chunks.delete(this.nextEmit);
						this.nextEmit++;
						this.schedule();
					}
					advanced = true;
				}
			}
			if (delivered > 0) {
				const room = this.roomWaiter;
				this.roomWaiter = undefined;
				room?.();
				// The first bytes are out: the other chunks start now, right after the consumer's
				// read resolved (a microtask queued after it), not a turn of the event loop later.
				if (this.counters.loaded === 0 && this.running < this.options.concurrency) queueMicrotask(() => this.schedule());
				this.counters.loaded += delivered;
				this.counters.bufferedBytes -= delivered;
				this.reportProgress();
				if (this.settled) return;
			}
			// Closes only once every request has ended, so that an over-long last body is still caught.
			if (this.totalChunks !== undefined && this.nextEmit >= this.totalChunks && this.running === 0 && this.extra() === 0) {
				this.stop(undefined);
				controller.close();
				return;
			}
			if (delivered > 0) return;
			if (advanced) continue;
			const waitStarted = performance.now();
			await new Promise<void>((resolve) => {
				this.waiter = resolve;
			});
			this.turnStartedAt = performance.now();
			this.consumerWaiting.add(waitStarted, this.turnStartedAt);
		}
	}

	/** Resolves on a later turn of the event loop, after pending I/O. */
	private nextTurn(): Promise<void> {
		return new Promise<void>((resolve) => {
			nextMacrotask(() => {
				this.turnStartedAt = performance.now();
				resolve();
			});
		});
	}

	/** The stream's `cancel()`: the consumer is gone; stop everything. */
	cancel(reason: unknown): void {
		this.stop(reason);
	}

	private readonly onAbort = (event: Event): void => {
		this.fail((event.target as AbortSignal).reason);
	};

	private fail(error: unknown): void {
		if (this.stop(error)) this.controller?.error(error);
	}

	/**
	 * Ends the download once, whatever ends it (done, cancelled, failed): every request, timer and
	 * listener stops, buffered bytes are dropped. False when it had already ended.
	 */
	private stop(reason: unknown): boolean {
		if (this.settled) return false;
		this.settled = true;
		this.settleInfo(reason);
		this.abort.abort(reason);
		for (const controller of this.requests) controller.abort(reason);
		this.requests.clear();
		clearTimeout(this.hedgeTimer);
		this.hedgeTimer = undefined;
		for (const signal of this.signals) signal.removeEventListener('abort', this.onAbort);
		for (const chunk of this.chunks.values()) chunk.clear();
		this.chunks.clear();
		this.counters.bufferedBytes = 0;
		this.wake();
		return true;
	}

	private wake(): void {
		const waiter = this.waiter;
		this.waiter = undefined;
		waiter?.();
	}

	private settleInfo(value: DownloadInfo | unknown, ok = false): void {
		if (this.infoSettled) return;
		this.infoSettled = true;
		if (ok) this.resolveInfo(value as DownloadInfo);
		else this.rejectInfo(value);
	}

	private reportProgress(): void {
		const onProgress = this.options.onProgress;
		if (!onProgress) return;
		try {
			onProgress({ loaded: this.counters.loaded, total: this.size, inFlight: this.counters.inFlight });
		} catch (error) {
			this.fail(error);
		}
	}

	private describe(response: Response, extra: Partial<DownloadInfo> & Pick<DownloadInfo, 'mode'>): DownloadInfo {
		const info: DownloadInfo = { size: this.size, ...extra };
		const etag = response.headers.get('etag');
		const lastModified = response.headers.get('last-modified');
		const contentType = response.headers.get('content-type');
		if (etag) info.etag = etag;
		if (lastModified) info.lastModified = lastModified;
		if (contentType) info.contentType = contentType;
		return info;
	}

	// ---------------------------------------------------------------- discovery

	/**
	 * No HEAD: the first chunk is asked for as a range, and its answer decides the mode
	 * (cachew#360). Its body is the head of the output and streams out as it arrives.
	 */
	private async discover(): Promise<void> {
		const chunkSize = this.options.chunkSize;
		const range = { start: 0, end: chunkSize - 1 };
		const head = new Chunk(0, 0, range.end, performance.now());
		await this.retrying(range, () => 0, async () => {
			const opened = await this.open(range, undefined, head);
			const { response } = opened;
			const { status, headers } = response;
			this.crossOrigin = response.type === 'cors';
			try {
				if (status === 416) return this.discoveredEmpty(opened);
				if (status === 200) return this.discoveredWhole(opened);
				if (status !== 206) throw statusError(response, range, this.url);
				if (isEncoded(headers)) throw encodedError(response, range, this.url);
				const { size, fromCaller } = discoveredSize(response, range, this.url, this.options.size);
				this.totalFromCaller = fromCaller;
				this.size = size;
				const pin = pinFromHeaders(headers);
				if (size === 0) return this.discoveredEmpty(opened);
				// No strong validator: a second request could come from another revision and be
				// spliced undetected. No readable total (cross-origin, Content-Range not exposed):
				// the chunks cannot be laid out. Either way the whole object comes from one plain
				// GET, decided before any byte of this response is handed out.
				const unpinned = size !== undefined && size > chunkSize && pin.kind === 'none' && !this.options.allowUnpinned;
				if (size === undefined || unpinned) {
					opened.release();
					void response.body?.cancel().catch(noop);
					await this.single();
					return true;
				}
				this.pin = pin;
				this.totalChunks = Math.ceil(size / chunkSize);
				const mode = this.totalChunks === 1 ? 'single' : 'parallel';
				this.settleInfo(this.describe(response, { mode }), true);
				head.end = Math.min(chunkSize, size) - 1;
				this.chunks.set(0, head);
				this.running++;
				this.runChunks([head], opened);
				// The other chunks start once the first bytes are handed out (see pull()), or on the
				// next turn at the latest: setting up their requests first would hold back the first
				// bytes, which are already here (time to first byte).
				setTimeout(() => this.schedule(), 0);
				return true;
			} catch (error) {
				opened.release();
				void response.body?.cancel().catch(noop);
				throw error;
			}
		});
	}

	/** 416 to `bytes=0-N` (RFC 9110 §14.1.1: only an empty representation makes it unsatisfiable). */
	private discoveredEmpty(opened: Opened): boolean {
		const { response } = opened;
		const header = response.headers.get('content-range');
		const parsed = parseContentRange(header);
		opened.release();
		void response.body?.cancel().catch(noop);
		if (response.status === 416 && parsed?.size !== undefined && parsed.size !== 0) {
			throw new UnexpectedResponseError(`416 for the first bytes of an object said to hold ${parsed.size}`, {
				url: this.url,
				status: 416,
				contentRange: header ?? undefined,
			});
		}
		this.size = 0;
		this.totalChunks = 0;
		this.settleInfo(this.describe(response, { mode: 'empty', size: 0 }), true);
		this.wake();
		return true;
	}

	/** The server ignored Range (200): this body is the object. Streamed, never requested twice. */
	private discoveredWhole(opened: Opened): boolean {
		this.streamWhole(opened);
		return true;
	}

	/** One plain GET without Range: `concurrency: 1`, or no validator to pin parallel requests to. */
	private async single(): Promise<void> {
		await this.retrying(undefined, () => 0, async () => {
			const opened = await this.open(undefined, undefined, undefined);
			if (opened.response.status !== 200) {
				opened.release();
				void opened.response.body?.cancel().catch(noop);
				throw statusError(opened.response, undefined, this.url);
			}
			this.streamWhole(opened);
			return true;
		});
	}

	private streamWhole(opened: Opened): void {
		const { response } = opened;
		// An encoded body is decoded by fetch: Content-Length then counts encoded bytes. Cross-origin,
		// Content-Encoding is unreadable unless exposed, so Content-Length proves nothing there: the
		// body is read to its end (fetch itself checks the length on the wire).
		const encoded = isEncoded(response.headers) || response.type === 'cors';
		const length = encoded ? undefined : parseContentLength(response.headers.get('content-length'));
		this.size = length;
		if (length === 0) {
			this.discoveredEmpty(opened);
			return;
		}
		this.totalChunks = 1;
		this.pin = undefined;
		this.settleInfo(this.describe(response, { mode: 'single' }), true);
		const chunk = this.addChunk(0);
		chunk.end = length === undefined ? Number.POSITIVE_INFINITY : length - 1;
		this.running++;
		this.readWhole(chunk, opened).then(
			() => this.chunkEnded(),
			(error: unknown) => this.fail(error),
		);
	}

	private async readWhole(chunk: Chunk, opened: Opened): Promise<void> {
		try {
			// The whole object, whatever range was asked for (a server that ignored Range).
			await this.readInto([chunk], { ...opened, end: Number.POSITIVE_INFINITY });
		} catch (error) {
			if (this.settled) return;
			if (isParallelGetError(error) && !(error instanceof StallError)) throw error;
			// Without a pinned revision the rest cannot be asked for by range safely.
			throw new UnexpectedResponseError(`the response broke off after ${chunk.received} bytes and cannot be resumed`, {
				url: this.url,
				status: opened.response.status,
				code: 'ERR_BODY_TOO_SHORT',
				cause: error,
			});
		}
		if (chunk.end === Number.POSITIVE_INFINITY) {
			chunk.end = chunk.frontier - 1;
			chunk.done = true;
		} else if (!chunk.done) {
			throw new UnexpectedResponseError(`the body ended after ${chunk.received} of ${chunk.length} bytes`, {
				url: this.url,
				status: opened.response.status,
				code: 'ERR_BODY_TOO_SHORT',
			});
		}
	}

	// ---------------------------------------------------------------- the window

	private addChunk(index: number): Chunk {
		const chunkSize = this.options.chunkSize;
		const start = index * chunkSize;
		const end = Math.min(start + chunkSize, this.size ?? Number.POSITIVE_INFINITY) - 1;
		const chunk = new Chunk(index, start, end, performance.now());
		this.chunks.set(index, chunk);
		return chunk;
	}

	/**
	 * Hedges stalled chunks, then fills free slots with new chunks while the window allows
	 * (cachew#360: 2 x concurrency ahead of the oldest unread). A request left behind by hedging,
	 * or let go early near its end (overlap), holds no slot; there are at most `maxHedging` of
	 * them together (`extra()`), so requests in flight never exceed `concurrency + maxHedging`.
	 */
	private schedule(): void {
		if (this.settled || this.totalChunks === undefined || this.pin === undefined) return;
		const concurrency = this.options.concurrency;
		this.hedgeStalled();
		// The second half of the window is slack for a slow head, worth having only while the
		// network sets the pace: a consumer that hardly ever waits for bytes (and one that has not
		// waited yet) gets `concurrency` chunks ahead of it, which keeps every slot busy; twice that
		// would only hold bytes longer.
		const networkBound = this.consumerWaiting.share(performance.now()) >= CONSUMER_WAIT_SHARE;
		const limit = Math.min(this.totalChunks, this.nextEmit + (networkBound ? WINDOW_FACTOR : 1) * concurrency);
		while (this.running < concurrency && this.nextStart < limit) {
			// Up to WINDOW_FACTOR chunks per request while the window has that much room for every
			// free slot and the object that much left for every slot: each request then waits its
			// time to first byte once, not once per chunk. Otherwise (a full window, the tail, a
			// small object) one chunk, so that every slot works and all finish close together.
			const room = Math.floor((limit - this.nextStart) / (concurrency - this.running));
			const left = Math.floor((this.totalChunks - this.nextStart) / concurrency);
			const length = Math.max(1, Math.min(WINDOW_FACTOR, room, left));
			const run: Chunk[] = [];
			for (let i = 0; i < length; i++) run.push(this.addChunk(this.nextStart++));
			for (const chunk of run) chunk.run = run;
			this.running++;
			this.runChunks(run, undefined);
		}
		if (this.nextStart >= this.totalChunks) this.stealTails();
		this.armHedgeTimer();
	}

	/** Every chunk not handed out yet, the tails split off them included. */
	private *everyChunk(): Generator<Chunk> {
		for (const first of this.chunks.values()) for (let chunk: Chunk | undefined = first; chunk; chunk = chunk.tail) yield chunk;
	}

	/**
	 * At the end of the object, a slot with no chunk left to start takes over the back part of
	 * what the busiest slot still has to read: the last chunk of that slot's run is split, its
	 * request stops where the tail begins, and the tail is asked for on a request of its own. All
	 * slots then finish close together instead of waiting for the one that started last (or
	 * stalled). Only with hedging on, and only where the tail is worth a request's time to first
	 * byte, and at most `STEALS_PER_SLOT x concurrency` times; no byte is asked for twice, and
	 * the free slot's request stays within `concurrency`.
	 */
	private stealTails(): void {
		if (!this.options.hedge) return;
		const concurrency = this.options.concurrency;
		while (this.running < concurrency && this.counters.steals < STEALS_PER_SLOT * concurrency) {
			let best: Chunk | undefined;
			let most = 0;
			for (const chunk of this.everyChunk()) {
				if (chunk.done || chunk.run[chunk.run.length - 1] !== chunk) continue;
				// What its request has still to read (a run is read in order: nothing past that is in).
				const { start, end } = remaining(chunk.run);
				const left = end + 1 - start;
				if (left > most) {
					most = left;
					best = chunk;
				}
			}
			if (!best) return;
			const share = tailShare(most, this.slotPace() * (this.ttfb ?? 0), best.end - best.frontier);
			if (share === 0) return;
			const tail = best.split(best.end + 1 - share, performance.now());
			this.counters.steals++;
			this.running++;
			this.runChunks([tail], undefined);
		}
	}

	/** Bytes per ms one slot has received on average since the download started. */
	private slotPace(): number {
		const elapsed = performance.now() - this.startedAt;
		return elapsed > 0 ? this.counters.bytesReceived / elapsed / this.options.concurrency : 0;
	}

	// ---------------------------------------------------------------- hedging

	/**
	 * Hedges the chunks that have gone without a byte for `hedge.after` ms, whatever feeds them
	 * (a request's clock restarts when it is sent; one still waiting for its headers gets 3 x the
	 * typical time to first byte if that is longer): the slot reading a quiet chunk leaves its
	 * request behind, still in flight and still feeding the chunk should it wake up, and asks for
	 * the rest of its chunks again on a fresh request. The slot goes on working, and whichever
	 * request completes a chunk first aborts the other. At most `maxHedging` requests are left
	 * behind at once, counting those let go early (overlap); with that many, the slot's quiet
	 * request is aborted instead and asked for again at once (no backoff, no failure counted). A
	 * chunk that no slot is reading (waiting to retry, or further on in a run) is not stalled.
	 */
	private hedgeStalled(): void {
		const hedge = this.options.hedge;
		if (!hedge) return;
		const now = performance.now();
		const after = this.hedgeAfter;
		const headersDelay = this.headersDelay(after);
		const most = maxHedging(this.options.concurrency);
		const budget = this.hedgeBudget(hedge.max);
		for (const chunk of this.everyChunk()) {
			if (this.counters.hedges >= budget) return;
			if (chunk.done || chunk.hedged >= HEDGES_PER_CHUNK || now - chunk.lastProgressAt < after) continue;
			const slot = [...chunk.requests].find((controller) => this.detachers.has(controller));
			if (!slot || (this.awaitingHeaders.has(slot) && now - chunk.lastProgressAt < headersDelay)) continue;
			chunk.hedged++;
			this.counters.hedges++;
			if (this.extra() < most) this.detachers.get(slot)?.();
			else slot.abort(RESTART);
		}
	}

	/** Requests in flight on top of the slots' own: left behind by hedging, or let go early (overlap). */
	private extra(): number {
		return this.detached + this.early;
	}

	private hedgeBudget(max: number | undefined): number {
		return max ?? Math.max(this.options.concurrency, Math.ceil((this.totalChunks ?? 0) * HEDGE_BUDGET_FRACTION));
	}

	/** How long a request may wait for its headers before it counts as quiet: slow servers are not stragglers. */
	private headersDelay(after: number): number {
		return this.ttfb === undefined ? after : Math.max(after, 3 * this.ttfb);
	}

	/**
	 * Looks for stalled chunks every quarter of the hedge delay while requests run. A plain
	 * period, not a timer aimed at the next chunk's due time: that was exact in theory and missed
	 * a stalled head now and then in practice. It stops when nothing runs, so an idle download
	 * (a consumer that stopped reading) keeps no timer.
	 */
	private armHedgeTimer(): void {
		const hedge = this.options.hedge;
		if (!hedge || this.hedgeTimer !== undefined || this.running === 0 || this.settled) return;
		if (this.counters.hedges >= this.hedgeBudget(hedge.max)) return;
		this.hedgeTimer = setTimeout(
			() => {
				this.hedgeTimer = undefined;
				this.schedule();
			},
			Math.max(10, this.hedgeAfter / 4),
		);
	}

	/**
	 * Fetches a run of consecutive chunks on one request at a time: after a fault, once a hedge
	 * finished the chunk being read, or when the request went quiet and was left behind (hedged),
	 * the next request starts at the first byte still missing.
	 */
	private runChunks(run: readonly Chunk[], first: Opened | undefined): void {
		let opened = first;
		let hedging = false;
		let letGo = false;
		const last = run[run.length - 1] as Chunk;
		if (this.options.overlap) {
			last.nearEnd = () => {
				if (this.settled || this.extra() >= maxHedging(this.options.concurrency)) return;
				last.nearEnd = undefined;
				letGo = true;
				this.early++;
				this.counters.overlaps++;
				this.running--;
				this.schedule();
			};
		}
		this.retrying(run, () => received(run), async () => {
			const from = run.findIndex((chunk) => !chunk.done);
			// A hedge may have completed the run while this one waited to retry.
			if (from === -1) return true;
			// The first response is used once: an attempt that fails has read (and locked) its body,
			// so the retry must send a new request, never read the old body again.
			const first = opened;
			opened = undefined;
			const outcome = await this.attempt(run.slice(from), first, hedging);
			hedging = outcome === 'detached' || outcome === 'restarted';
			return outcome === 'done';
		}).then(
			() => {
				last.nearEnd = undefined;
				if (!letGo) {
					this.chunkEnded();
					return;
				}
				this.early--;
				this.schedule();
				this.wake();
			},
			(error: unknown) => this.fail(error),
		);
	}

	/**
	 * One request for the rest of a run, read until the run is complete ('done'), until another
	 * request completed the chunk being read ('superseded'), or until the hedging leaves it behind
	 * ('detached': it goes on by itself, counted in `detached` until it ends) or aborts it to ask
	 * again ('restarted').
	 */
	private async attempt(pending: readonly Chunk[], first: Opened | undefined, hedge: boolean): Promise<Outcome> {
		const last = pending[pending.length - 1] as Chunk;
		let controller: AbortController | undefined;
		let leftBehind = false;
		let detach!: () => void;
		const detached = new Promise<'detached'>((resolve) => {
			detach = () => {
				leftBehind = true;
				this.detached++;
				if (controller) this.detachers.delete(controller);
				resolve('detached');
			};
		});
		const track = (started: AbortController): void => {
			controller = started;
			this.detachers.set(started, detach);
			if (hedge) this.hedgeRequests.add(started);
		};
		const work = (async (): Promise<'done' | 'superseded'> => {
			if (first) track(first.controller);
			const current = first ?? (await this.openRange(pending, track));
			const superseded = await this.readInto(pending, current);
			if (last.done) return 'done';
			if (superseded) return 'superseded';
			throw new UnexpectedResponseError(`the body ended ${last.end + 1 - remaining(pending).start} bytes short`, {
				url: this.url,
				range: { start: current.offset, end: last.end },
				status: current.response.status,
				code: 'ERR_BODY_TOO_SHORT',
				retryable: true,
			});
		})();
		let outcome: Outcome;
		try {
			outcome = await Promise.race([work, detached]);
		} catch (error) {
			// Failed before the detach took effect: nothing was left behind after all.
			if (leftBehind) this.detached--;
			if (error === RESTART) return 'restarted';
			throw error;
		} finally {
			if (controller) this.detachers.delete(controller);
		}
		if (outcome === 'detached') this.leaveBehind(work, pending);
		else if (leftBehind) this.detached--;
		return outcome;
	}

	/** A request left behind by its slot: it ends by itself; only a fatal verdict (412, too long) still counts. */
	private leaveBehind(work: Promise<unknown>, pending: readonly Chunk[]): void {
		const ended = (): void => {
			this.detached--;
			this.schedule();
			this.wake();
		};
		work.then(ended, (error: unknown) => {
			if (!this.settled && !this.isRetryable(error) && !pending.every((chunk) => chunk.done)) this.fail(error);
			ended();
		});
	}

	private chunkEnded(): void {
		this.running--;
		this.schedule();
		this.wake();
	}

	/**
	 * Runs `attempt` until it reports done. Transient faults (network errors, resets, stalls,
	 * 408/429/5xx, short bodies) are retried with exponential backoff and jitter, or after the
	 * server's Retry-After; the count restarts when an attempt made progress.
	 */
	private async retrying(target: readonly Chunk[] | ByteRange | undefined, progress: () => number, attempt: () => Promise<boolean>): Promise<void> {
		const run = Array.isArray(target) ? (target as readonly Chunk[]) : undefined;
		let failures = 0;
		for (;;) {
			const before = progress();
			try {
				if (await attempt()) return;
			} catch (error) {
				if (this.settled || run?.every((chunk) => chunk.done)) return;
				if (!this.isRetryable(error)) throw error;
				failures = progress() > before ? 1 : failures + 1;
				const range = run ? remaining(run) : (target as ByteRange | undefined);
				if (failures > this.options.retry.limit) {
					// A browser reports a CORS refusal (a preflight that does not allow If-Match) as a
					// plain network error; say where to look.
					const hint =
						this.crossOrigin && this.pin && !isParallelGetError(error)
							? 'cross-origin: check that the server allows If-Match and If-Unmodified-Since in Access-Control-Allow-Headers'
							: undefined;
					throw new RetriesExhaustedError(failures, { url: this.url, range, cause: error, ...(hint ? { hint } : {}) });
				}
				this.counters.retries++;
				await delay(this.backoff(failures, error), this.abort.signal);
			}
		}
	}

	private isRetryable(error: unknown): boolean {
		if (error instanceof StallError) return true;
		if (error instanceof UnexpectedResponseError) return error.retryable;
		// Our own fatal verdicts; anything else (fetch's TypeError, a reset, ky's NetworkError or
		// TimeoutError) is a fault of the network and worth another try.
		return !isParallelGetError(error);
	}

	private backoff(attempt: number, error: unknown): number {
		const retry = this.options.retry;
		const retryAfter = error instanceof UnexpectedResponseError ? error.retryAfter : undefined;
		if (retryAfter !== undefined) return Math.min(retryAfter, retry.maxRetryAfter);
		const computed = Math.min(retry.delay(attempt), retry.backoffLimit);
		return retry.jitter ? computed * (0.5 + Math.random() / 2) : computed;
	}

	// ---------------------------------------------------------------- requests

	/**
	 * Sends one GET; `range` adds Range (open-ended with `openEnded`), `pin` the precondition.
	 * Counted in flight until released. `started` learns the request's controller at once.
	 */
	private async open(
		range: ByteRange | undefined,
		pin: Pin | undefined,
		chunk: Chunk | undefined,
		openEnded = false,
		started?: (controller: AbortController) => void,
	): Promise<Opened> {
		if (this.settled) throw this.abort.signal.reason;
		// One controller per request, aborted directly when the download stops. Not a signal joined
		// with AbortSignal.any(): fetch holds such a signal weakly, and once it is collected an
		// abort no longer reaches a body being read (seen as a request left open after a hedge won).
		const controller = new AbortController();
		started?.(controller);
		this.requests.add(controller);
		const headers = new Headers(this.options.headers);
		if (range) headers.set('range', rangeHeader(range, openEnded));
		if (pin) for (const [name, value] of Object.entries(pinHeaders(pin))) headers.set(name, value);
		const watchdog = new Watchdog(this.options.stallTimeout, () => {
			controller.abort(new StallError(this.options.stallTimeout as number, { url: this.url, ...(range ? { range } : {}) }));
		});
		if (chunk) {
			chunk.requests.add(controller);
			// The chunk's clock for hedging starts with each request for it: a chunk of a run that a
			// new request only now reaches has not been waiting all along.
			chunk.lastProgressAt = performance.now();
		}
		this.counters.requests++;
		this.counters.inFlight++;
		this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
		let released = false;
		const release = (complete = false): void => {
			if (released) return;
			released = true;
			watchdog.stop();
			chunk?.requests.delete(controller);
			this.requests.delete(controller);
			this.counters.inFlight--;
			// Drops the connection of a body that was not read to its end; a complete one keeps
			// its connection for the next request.
			if (!complete) controller.abort();
		};
		this.awaitingHeaders.add(controller);
		try {
			const sent = performance.now();
			const response = await this.send(this.url, headers, controller.signal);
			const ttfb = performance.now() - sent;
			this.ttfb = this.ttfb === undefined ? ttfb : 0.8 * this.ttfb + 0.2 * ttfb;
			watchdog.touch();
			return { response, offset: range?.start ?? 0, end: range?.end ?? Number.POSITIVE_INFINITY, controller, watchdog, release };
		} catch (error) {
			release();
			throw this.reason(error, controller);
		} finally {
			this.awaitingHeaders.delete(controller);
		}
	}

	/** The error to act on: a stall (our own abort) rather than the AbortError it surfaced as. */
	private reason(error: unknown, controller: AbortController): unknown {
		if (this.settled) return this.abort.signal.reason;
		const reason: unknown = controller.signal.reason;
		return reason instanceof StallError || reason === RESTART ? reason : error;
	}

	/** A pinned request for the rest of a run of chunks, its answer checked before any byte is kept. */
	private async openRange(run: readonly Chunk[], started?: (controller: AbortController) => void): Promise<Opened> {
		const range = remaining(run);
		const last = this.size !== undefined && range.end === this.size - 1;
		const opened = await this.open(range, this.pin, run[0], last && this.totalFromCaller, started);
		try {
			checkPartial(opened.response, range, { url: this.url, pin: this.pin, size: this.size, totalFromCaller: this.totalFromCaller });
			return opened;
		} catch (error) {
			opened.release();
			void opened.response.body?.cancel().catch(noop);
			throw error;
		}
	}

	/**
	 * Reads a response body into a run of consecutive chunks from `opened.offset` on, each byte into
	 * the chunk it belongs to. Bytes past the run's end are never kept: an over-long body fails the
	 * download (the server is not sending what it said). True when the read stopped because another
	 * request (a hedge, or the quiet one it backs up) completed the chunk being read, which makes this one redundant.
	 */
	private async readInto(run: readonly Chunk[], opened: Opened): Promise<boolean> {
		const body = opened.response.body;
		let offset = opened.offset;
		if (!body) {
			opened.release();
			return false;
		}
		// What the response was asked for, not where the run ends now: a tail split off the run
		// after the request was sent (see `stealTails`) does not make its body too long.
		const end = Math.min(opened.end, (this.size ?? Number.POSITIVE_INFINITY) - 1);
		let index = 0;
		let chunk = run[0] as Chunk;
		const reader = body.getReader();
		const { controller } = opened;
		const { signal } = controller;
		// Cancel the body directly on abort: fetch follows the request's signal only while its
		// Request object lives, and once that is collected an abort would never reach this read
		// (a stalled loser of a hedge stayed open for good). Cancelling resolves the pending read.
		const onAbort = (): void => {
			reader.cancel(signal.reason).catch(noop);
		};
		signal.addEventListener('abort', onAbort, { once: true });
		let ended = false;
		/** When this response's first bytes came, and where they ended: its pace is measured from there. */
		let pace: Pace | undefined;
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (signal.aborted) throw signal.reason;
				if (done) {
					ended = true;
					return false;
				}
				if (value.byteLength === 0) continue;
				opened.watchdog.touch();
				if (offset + value.byteLength > end + 1) {
					throw new UnexpectedResponseError(`the body is longer than the ${end + 1 - opened.offset} bytes asked for`, {
						url: this.url,
						range: { start: opened.offset, end },
						status: opened.response.status,
						code: 'ERR_BODY_TOO_LONG',
					});
				}
				let piece: Bytes = value;
				if (chunk.length > WINDOW_FACTOR * this.options.concurrency * this.options.chunkSize) {
					await this.readWithin(chunk, offset, piece, opened);
					offset += piece.byteLength;
					continue;
				}
				for (;;) {
					const room = chunk.end + 1 - offset;
					// The run's last chunk was split: its tail is another request's.
					if (room <= 0) break;
					const part = room >= piece.byteLength ? piece : piece.subarray(0, room);
					this.accept(chunk, offset, part, controller);
					offset += part.byteLength;
					if (offset > chunk.end && index + 1 < run.length) chunk = this.nextInRun(run, ++index, chunk, controller);
					if (part === piece) break;
					piece = piece.subarray(room);
				}
				if (pace) this.overlapNearEnd(run[run.length - 1] as Chunk, offset, pace);
				else pace = { at: performance.now(), offset };
				// Another request completed this chunk (a hedge, or the quiet one it backs up): this one is redundant.
				if (chunk.done && offset <= chunk.end) return true;
				// The run ends short of the range asked for: a tail was split off (see `stealTails`).
				if (offset > chunk.end && chunk.end < end && index === run.length - 1) return false;
			}
		} catch (error) {
			// Aborted because another request (a hedge, or the quiet one it backs up) completed the chunk being read.
			if (!this.settled && chunk.done && chunk.completedBy !== controller) return true;
			throw this.reason(error, controller);
		} finally {
			signal.removeEventListener('abort', onAbort);
			if (!ended) reader.cancel().catch(noop);
			chunk.requests.delete(controller);
			opened.release(ended);
		}
	}

	/**
	 * Keeps a piece of a response larger than the window (one plain GET for the whole object) only
	 * as the consumer makes room: bytes held never exceed `WINDOW_FACTOR x concurrency x chunkSize`
	 * (README "Memory"), and the body is not read meanwhile, so the server waits for the consumer.
	 * The stall watchdog is off while the consumer is the one that is slow.
	 */
	private async readWithin(chunk: Chunk, offset: number, piece: Bytes, opened: Opened): Promise<void> {
		const windowBytes = WINDOW_FACTOR * this.options.concurrency * this.options.chunkSize;
		const { signal } = opened.controller;
		for (let at = 0; at < piece.byteLength; ) {
			if (chunk.bufferedBytes >= windowBytes) {
				opened.watchdog.stop();
				const onAbort = (): void => this.roomWaiter?.();
				signal.addEventListener('abort', onAbort, { once: true });
				try {
					while (chunk.bufferedBytes >= windowBytes && !signal.aborted) {
						await new Promise<void>((resolve) => {
							this.roomWaiter = resolve;
						});
					}
				} finally {
					signal.removeEventListener('abort', onAbort);
					this.roomWaiter = undefined;
				}
				if (signal.aborted) throw signal.reason;
				opened.watchdog.resume();
			}
			const part = piece.subarray(at, at + windowBytes - chunk.bufferedBytes);
			this.accept(chunk, offset + at, part, opened.controller);
			at += part.byteLength;
		}
	}

	/**
	 * Lets the run's slot start its next request once the bytes left take no longer, at this
	 * response's pace, than a request takes to answer (overlap).
	 */
	private overlapNearEnd(last: Chunk, offset: number, pace: Pace): void {
		const nearEnd = last.nearEnd;
		const left = last.end + 1 - offset;
		const ttfb = this.ttfb;
		if (!nearEnd || ttfb === undefined || left <= 0) return;
		// The pace counts once the body has been read for a time to first byte at least: pieces
		// that arrive together (what the socket held) say nothing about it.
		const elapsed = performance.now() - pace.at;
		if (elapsed < ttfb || left * elapsed > (offset - pace.offset) * ttfb) return;
		nearEnd();
	}

	/** The read moves on to the run's next chunk: that chunk is now fed by this request. */
	private nextInRun(run: readonly Chunk[], index: number, previous: Chunk, controller: AbortController): Chunk {
		const next = run[index] as Chunk;
		previous.requests.delete(controller);
		next.requests.add(controller);
		next.lastProgressAt = performance.now();
		return next;
	}

	private accept(chunk: Chunk, offset: number, bytes: Bytes, from: AbortController): void {
		const fresh = chunk.accept(offset, bytes, performance.now(), from);
		if (fresh === 0) return;
		const fromHedge = this.hedgeRequests.has(from);
		if (fromHedge) chunk.hedgeDelivered = true;
		if (chunk.done && chunk.hedged > 0) {
			if (fromHedge) this.counters.hedgesWon++;
			// The quiet request woke up and finished before any hedge of it delivered a byte.
			else if (!chunk.hedgeDelivered) this.hedgeAfter = Math.min(2 * this.hedgeAfter, MAX_HEDGE_AFTER);
		}
		const counters = this.counters;
		counters.bytesReceived += fresh;
		counters.bufferedBytes += fresh;
		if (counters.bufferedBytes > counters.maxBufferedBytes) counters.maxBufferedBytes = counters.bufferedBytes;
		if (chunk.index === this.nextEmit) this.wake();
	}
}

/** Bytes received for a run of chunks. */
function received(run: readonly Chunk[]): number {
	let total = 0;
	for (const chunk of run) total += chunk.received;
	return total;
}

/** From the first byte a run still misses to its end. */
function remaining(run: readonly Chunk[]): ByteRange {
	const pending = run.find((chunk) => !chunk.done) ?? (run[run.length - 1] as Chunk);
	return { start: pending.frontier, end: (run[run.length - 1] as Chunk).end };
}
