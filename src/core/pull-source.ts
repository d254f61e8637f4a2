import { BusyShare } from '../utils/busy-share.ts';
import { nextMacrotask } from '../utils/next-macrotask.ts';
import type { Bytes } from './chunk.ts';
import { CONSUMER_WAIT_PERIOD, CONSUMER_WAIT_SHARE, STOPPED_HEAD_MS } from './constants.ts';
import type { Download } from './download.ts';
import type { Verifier } from '../integrity/verifier.ts';

/** Longest stretch, in ms, that pull() hands out bytes without letting the event loop turn. */
const TURN_BUDGET_MS = 4;

/**
 * The stream's pull source: hands the head chunk's bytes out in order, only while the stream asks
 * (`desiredSize > 0`, no queue of its own: the plan's window is the read-ahead), waits while
 * there are none, and measures how much of its time the consumer spends waiting, which decides
 * the window's size (see `Plan.limit`). Closes once every chunk is out and every request ended.
 */
export class PullSource {
	readonly #download: Download;
	readonly #stop: (reason: unknown) => boolean;
	#waiter: (() => void) | undefined;
	/** A single response waiting for the consumer to make room in the window (see `readWithin`). */
	#roomWaiter: (() => void) | undefined;
	/** When pull() last waited for the event loop (bytes to arrive, or a turn of its own). */
	#turnStartedAt = performance.now();
	/** How much of its time the consumer spends waiting for bytes, lately. */
	readonly #consumerWaiting = new BusyShare(CONSUMER_WAIT_PERIOD);
	/** Since when the consumer waits for bytes, while it does. */
	#waitingSince: number | undefined;

	constructor(download: Download, stop: (reason: unknown) => boolean) {
		this.#download = download;
		this.#stop = stop;
	}

	/** The stream's `pull()`: hands out the head chunk's bytes; waits while there are none. */
	async pull(controller: ReadableStreamDefaultController<Bytes>): Promise<void> {
		const download = this.#download;
		const { plan, counters } = download;
		// A consumer reading a backlog (chunks that completed while the head was still arriving)
		// is served from microtasks alone; without a pause now and then no socket is read until
		// the backlog is gone, and every connection stalls meanwhile.
		if (performance.now() - this.#turnStartedAt > TURN_BUDGET_MS) await this.#nextTurn();
		for (;;) {
			if (download.settled) return;
			if (download.loading) {
				await this.#load();
				continue;
			}
			const verifier = download.verifier;
			const head = plan.chunks.get(plan.nextEmit);
			let delivered = 0;
			let taken = 0;
			let advanced = false;
			if (head) {
				// With a digest to verify, a piece that may end the object is held back (see `Verifier`).
				const mayEnd = verifier !== undefined && head.tail === undefined && plan.nextEmit + 1 >= (plan.totalChunks ?? 0);
				for (let piece = head.take(); piece; piece = head.take()) {
					taken += piece.byteLength;
					const out = verifier ? verifier.pass(piece, mayEnd) : piece;
					if (!out) continue;
					controller.enqueue(out);
					delivered += out.byteLength;
					if ((controller.desiredSize ?? 0) <= 0) break;
				}
				if (head.drained) {
					// Room in the window, but the requests start from a microtask, never in pull()
					// itself: Chromium may call pull() from native code (a service worker's Response
					// body), and there a call back into script after an enqueue (new Headers(init)
					// iterating its init, an abort event's listener) runs the microtasks nested and
					// spins in them for good.
					if (plan.dropHead(head)) queueMicrotask(() => download.schedule());
					advanced = true;
				}
			}
			if (taken > 0) {
				const room = this.#roomWaiter;
				this.#roomWaiter = undefined;
				room?.();
			}
			if (delivered > 0) {
				// The first bytes are out: the other chunks start now, right after the consumer's
				// read resolved (a microtask queued after it), not a turn of the event loop later.
				if (counters.loaded === 0 && download.slots.free) queueMicrotask(() => download.schedule());
				counters.loaded += delivered;
				counters.bufferedBytes -= delivered;
				this.#reportProgress();
				if (download.settled) return;
			}
			// Closes only once every request has ended, so that an over-long last body is still caught.
			if (plan.finished && download.slots.idle) {
				if (verifier) {
					// The verdict and the piece held back go out to a read of their own, as every piece
					// does; the stream calls pull() again for the next read. The piece enqueued with no
					// read waiting would count as loaded (and in a checkpoint) for a consumer that cancels
					// before it reads it. An error right after an enqueue reaches a consumer that holds
					// the piece and has no read waiting: Chromium's reader of a service worker's response
					// body, if the page aborts then, cancels the errored stream and leaves the rejection
					// unhandled (README "Fault schedules").
					if (delivered > 0) return;
					if (!this.#verify(verifier)) return;
					if (!this.#handOut(controller, verifier.release())) return;
				}
				this.#stop(undefined);
				controller.close();
				return;
			}
			if (delivered > 0) return;
			if (advanced) continue;
			const waitStarted = performance.now();
			this.#waitingSince = waitStarted;
			// Slots held back by the window while the consumer waits: once the wait has lasted long
			// enough to count, the window opens (see `networkBound`), even if nothing else happens
			// meanwhile to look again (a head that stalls, with hedging off, or waits to be retried).
			const heldBack = download.slots.free && plan.nextStart < (plan.totalChunks ?? 0);
			// After the I/O pending once the timer fires: a process that did not get the CPU for a
			// while runs its timers before it reads its sockets, and the head would look stopped.
			const recheck = heldBack ? setInterval(() => nextMacrotask(() => download.schedule()), STOPPED_HEAD_MS) : undefined;
			await new Promise<void>((resolve) => {
				this.#waiter = resolve;
			});
			clearInterval(recheck);
			this.#waitingSince = undefined;
			this.#turnStartedAt = performance.now();
			this.#consumerWaiting.add(waitStarted, this.#turnStartedAt);
		}
	}

	/** Resolves once the consumer has taken bytes. */
	room(): Promise<void> {
		return new Promise<void>((resolve) => {
			this.#roomWaiter = resolve;
		});
	}

	wake(): void {
		const waiter = this.#waiter;
		this.#waiter = undefined;
		waiter?.();
	}

	/**
	 * The consumer spends at least `CONSUMER_WAIT_SHARE` of its time waiting for bytes, or has
	 * waited `STOPPED_HEAD_MS` for the next byte now: the network sets the pace. A wait still going
	 * on counts: a head chunk that stalls or is retried keeps the consumer waiting, and the
	 * window's slack is there for exactly that.
	 */
	networkBound(): boolean {
		const now = performance.now();
		const since = this.#waitingSince;
		if (since !== undefined && now - since >= STOPPED_HEAD_MS && this.#download.counters.loaded > 0) return true;
		return this.#consumerWaiting.share(now, since) >= CONSUMER_WAIT_SHARE;
	}

	/** Waits for the code that verifies to load; a failure to load fails the download. */
	async #load(): Promise<void> {
		try {
			await this.#download.loading;
		} catch (error) {
			this.#download.fail(error);
		}
	}

	/** Every byte has been passed to the verifier: false, with the download failed, if the digest does not match. */
	#verify(verifier: Verifier): boolean {
		try {
			verifier.finish();
			return true;
		} catch (error) {
			this.#download.fail(error);
			return false;
		}
	}

	/** Hands out the piece held back, if any; false if the download ended meanwhile (`onProgress` threw). */
	#handOut(controller: ReadableStreamDefaultController<Bytes>, held: Bytes | undefined): boolean {
		if (!held) return true;
		controller.enqueue(held);
		const { counters } = this.#download;
		counters.loaded += held.byteLength;
		counters.bufferedBytes -= held.byteLength;
		this.#reportProgress();
		return !this.#download.settled;
	}

	/** Resolves on a later turn of the event loop, after pending I/O. */
	#nextTurn(): Promise<void> {
		return new Promise<void>((resolve) => {
			nextMacrotask(() => {
				this.#turnStartedAt = performance.now();
				resolve();
			});
		});
	}

	#reportProgress(): void {
		const { options, counters, plan } = this.#download;
		const onProgress = options.onProgress;
		if (!onProgress) return;
		try {
			onProgress({ loaded: counters.loaded, total: plan.size, inFlight: counters.inFlight });
		} catch (error) {
			this.#download.fail(error);
		}
	}
}
