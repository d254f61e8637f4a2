import type { ByteRange } from '../errors/parallel-get-error.ts';
import { StallError } from '../errors/stall-error.ts';
import { rangeHeader } from '../http/content-range.ts';
import { type Pin, pinHeaders } from '../http/validators.ts';
import { noop, Watchdog } from '../utils/abort.ts';
import type { Chunk } from './chunk.ts';
import type { Download } from './download.ts';

/**
 * Where one request is in its life, and so who owns its body:
 * - `waiting`: sent, its headers not in yet; the run that sent it waits for it;
 * - `reading`: its run reads its body into the run's chunks;
 * - `detached`: left behind by a hedge; it reads on by itself, feeding its chunk, and nobody
 *   waits for it (it holds a `detached` place, see `Slots`);
 * - `done`: it delivered the rest of its run; `superseded`: another request completed the
 *   chunk it was reading; `failed`: a fault or a verdict ended it; `aborted`: it was asked for
 *   again at once (hedging without room), or the download ended.
 * A run let go early (overlap) is a state of the run, not of one request: see `RangeRequest`.
 */
export type RequestState = 'waiting' | 'reading' | 'detached' | 'done' | 'superseded' | 'failed' | 'aborted';

/** A request in flight. */
export interface Tracked {
	readonly controller: AbortController;
	state: RequestState;
	/** Sent by a slot right after it left a quiet request behind: the chunks it completes are hedges won. */
	hedge: boolean;
	/** While the slot of a run reads it (`waiting` or `reading`): leaves it behind (hedging), as `detached`. */
	detach: (() => void) | undefined;
}

export interface Opened {
	response: Response;
	request: Tracked;
	/** Absolute offset of the first body byte, and of the last byte asked for (Infinity: to the end). */
	offset: number;
	end: number;
	watchdog: Watchdog;
	/** Ends the request's accounting; aborts its connection unless the body was read to its end. */
	release: (complete?: boolean) => void;
}

/** Gives up a response whose body will not be read: releases it and cancels the body. */
export function discard(opened: Opened): void {
	opened.release();
	void opened.response.body?.cancel().catch(noop);
}

/** Abort reason of a quiet request that hedging asks for again at once. */
export const RESTART = new Error('quiet: asked for again on a fresh request');

/** The requests of a download in flight: sent, counted, watched for stalls, released once each. */
export class Requests {
	/** Smoothed time to first byte (headers) of this download's requests, in ms. */
	ttfb: number | undefined;
	readonly #download: Download;
	readonly #all = new Map<AbortController, Tracked>();

	constructor(download: Download) {
		this.#download = download;
	}

	/**
	 * Sends one GET; `range` adds Range (open-ended with `openEnded`), `pin` the precondition.
	 * Counted in flight until released. `started` learns the request at once.
	 */
	async open(
		range: ByteRange | undefined,
		pin: Pin | undefined,
		chunk: Chunk | undefined,
		openEnded = false,
		started?: (request: Tracked) => void,
	): Promise<Opened> {
		const { options, counters, url } = this.#download;
		if (this.#download.settled) throw this.#download.signal.reason;
		// One controller per request, aborted directly when the download stops. Not a signal joined
		// with AbortSignal.any(): fetch holds such a signal weakly, and once it is collected an
		// abort no longer reaches a body being read (seen as a request left open after a hedge won).
		const controller = new AbortController();
		const request: Tracked = { controller, state: 'waiting', hedge: false, detach: undefined };
		started?.(request);
		this.#all.set(controller, request);
		const headers = new Headers(options.headers);
		if (range) headers.set('range', rangeHeader(range, openEnded));
		if (pin) for (const [name, value] of Object.entries(pinHeaders(pin))) headers.set(name, value);
		const watchdog = new Watchdog(options.stallTimeout, () => {
			controller.abort(new StallError(options.stallTimeout as number, { url, ...(range ? { range } : {}) }));
		});
		if (chunk) {
			chunk.requests.add(controller);
			// The chunk's clock for hedging starts with each request for it: a chunk of a run that a
			// new request only now reaches has not been waiting all along.
			chunk.lastProgressAt = performance.now();
		}
		counters.requests++;
		counters.inFlight++;
		counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
		let released = false;
		let answered = false;
		const release = (complete = false): void => {
			if (released) return;
			released = true;
			watchdog.stop();
			chunk?.requests.delete(controller);
			this.#all.delete(controller);
			counters.inFlight--;
			if (answered) counters.transferring--;
			// Drops the connection of a body that was not read to its end; a complete one keeps
			// its connection for the next request.
			if (!complete) controller.abort();
		};
		try {
			const sent = performance.now();
			const response = await this.#download.send(url, headers, controller.signal);
			const ttfb = performance.now() - sent;
			this.ttfb = this.ttfb === undefined ? ttfb : 0.8 * this.ttfb + 0.2 * ttfb;
			watchdog.touch();
			// Not released yet: `release` is the caller's only once this returns.
			answered = true;
			counters.transferring++;
			counters.maxTransferring = Math.max(counters.maxTransferring, counters.transferring);
			// Left behind while it waited, it stays behind.
			if (request.state === 'waiting') request.state = 'reading';
			return { response, request, offset: range?.start ?? 0, end: range?.end ?? Number.POSITIVE_INFINITY, watchdog, release };
		} catch (error) {
			release();
			throw this.reason(error, controller);
		}
	}

	/** The error to act on: a stall (our own abort) rather than the AbortError it surfaced as. */
	reason(error: unknown, controller: AbortController): unknown {
		if (this.#download.settled) return this.#download.signal.reason;
		const reason: unknown = controller.signal.reason;
		return reason instanceof StallError || reason === RESTART ? reason : error;
	}

	/** The request a run's slot reads for `chunk`, not one left behind; none while no slot reads it. */
	slotRequest(chunk: Chunk): Tracked | undefined {
		for (const controller of chunk.requests) {
			const request = this.#all.get(controller);
			if (request?.detach) return request;
		}
		return undefined;
	}

	/** The download stopped: every request in flight is aborted with its reason. */
	abortAll(reason: unknown): void {
		for (const controller of this.#all.keys()) controller.abort(reason);
		this.#all.clear();
	}
}
