import { nextMacrotask } from '../utils/next-macrotask.ts';
import type { Download } from './download.ts';
import { checkEvery, hedgeBudget, headersDelay, stalled } from './policies/hedging.ts';
import { chooseTail, maySteal, slotPace } from './policies/stealing.ts';
import { RangeRequest } from './range-request.ts';
import { RESTART } from './request.ts';

/**
 * Carries out the straggler policies (`policies/hedging.ts`, `policies/stealing.ts`) for one
 * download: hedges the chunks that went quiet, steals tails once every chunk has started, and
 * keeps the one timer that looks for stalls while runs read. The policies decide from a read-only
 * view; this is where their decisions touch requests.
 */
export class Stragglers {
	readonly #download: Download;
	/** When the download started, for its pace so far. */
	readonly #startedAt: () => number;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(download: Download, startedAt: () => number) {
		this.#download = download;
		this.#startedAt = startedAt;
	}

	/** See `policies/hedging.ts`: the quiet request is left behind, or aborted to ask again at once. */
	hedge(): void {
		const download = this.#download;
		const hedge = download.options.hedge;
		if (!hedge) return;
		const { counters, slots, plan, requests } = download;
		const after = download.hedgeAfter;
		const hedges = stalled({
			now: performance.now(),
			after,
			headersDelay: headersDelay(after, requests.ttfb),
			hedges: counters.hedges,
			budget: this.#budget(),
			extra: slots.detached,
			most: slots.most,
			chunks: plan.everyChunk(),
			slotRequest: (chunk) => requests.slotRequest(chunk),
		});
		for (const { chunk, request, leave } of hedges) {
			chunk.hedged++;
			counters.hedges++;
			if (leave) request.detach?.();
			else request.controller.abort(RESTART);
		}
	}

	/** See `policies/stealing.ts`: free slots take over the back part of the busiest runs. */
	stealTails(): void {
		const download = this.#download;
		const { options, plan, counters, slots } = download;
		const concurrency = slots.concurrency;
		while (slots.free && maySteal(options.hedge !== undefined, plan.totalChunks, counters.steals, concurrency)) {
			const pace = slotPace(counters.bytesReceived, performance.now() - this.#startedAt(), concurrency);
			const tail = chooseTail(plan.everyChunk(), pace, download.requests.ttfb);
			if (!tail) return;
			const { chunk, share } = tail;
			counters.steals++;
			new RangeRequest(download, [chunk.split(chunk.end + 1 - share, performance.now())]).start();
		}
	}

	/**
	 * Looks for stalled chunks while runs read, those let go early (overlap) included: one of them
	 * may be the last left (the end of the object, or a run left short by a stolen tail). An idle
	 * download (a consumer that stopped reading) keeps no timer.
	 */
	arm(): void {
		const download = this.#download;
		if (!download.options.hedge || this.#timer !== undefined || download.slots.runs === 0 || download.settled) return;
		if (download.counters.hedges >= this.#budget()) return;
		// The check runs after the I/O that is pending once the timer fires: a process that did not
		// get the CPU for a while (a busy machine) runs its timers before it reads its sockets, and
		// every chunk would look quiet, their bytes waiting unread; each would be hedged at once.
		this.#timer = setTimeout(() => {
			nextMacrotask(() => {
				this.#timer = undefined;
				download.schedule();
			});
		}, checkEvery(download.hedgeAfter));
	}

	/** The download ended: no timer is left. */
	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#budget(): number {
		const { options, slots, plan, counters } = this.#download;
		return hedgeBudget(options.hedge?.max, slots.concurrency, plan.totalChunks, counters.hedgesWon);
	}
}
