import { STEAL_MIN_BYTES, STEAL_MIN_LEAD, STEAL_MIN_SAVING_MS, STEALS_PER_SLOT } from '../constants.ts';
import { remaining, type Span } from '../plan.ts';

/**
 * Tail stealing: at the end of the object, a slot with no chunk left to start takes over the back
 * part of what the busiest slot still has to read. The last chunk of that slot's run is split,
 * its request stops where the tail begins, and the tail is asked for on a request of its own. All
 * slots then finish close together instead of waiting for the one that started last (or stalled).
 * Only with hedging on, never for an object of one chunk, only where the tail is worth a
 * request's time to first byte and, at the measured pace, ends the download at least
 * `STEAL_MIN_SAVING_MS` sooner, and at most `STEALS_PER_SLOT x concurrency` times; no byte is
 * asked for twice, and the free slot's request stays within `concurrency`.
 */

/** A chunk as tail stealing sees it: its span and the run it is read with. */
export interface StealChunk extends Span {
	readonly run: readonly Span[];
}

/** Whether a download may steal tails at all, and once more after `steals`. */
export function maySteal(hedge: boolean, totalChunks: number | undefined, steals: number, concurrency: number): boolean {
	// An object that fits in one chunk comes whole on the discovery request: one request.
	return hedge && totalChunks !== 1 && steals < STEALS_PER_SLOT * concurrency;
}

/**
 * The chunk to split and the bytes at its end to take over, or undefined when no tail pays.
 * `pace` is what one slot receives per ms (0 before any byte: decided on a later turn), `ttfb`
 * the typical time to first byte.
 */
export function chooseTail<C extends StealChunk>(chunks: Iterable<C>, pace: number, ttfb: number | undefined): { chunk: C; share: number } | undefined {
	let best: C | undefined;
	let most = 0;
	for (const chunk of chunks) {
		if (chunk.done || chunk.run[chunk.run.length - 1] !== chunk) continue;
		// What its request has still to read (a run is read in order: nothing past that is in).
		const { start, end } = remaining(chunk.run);
		const left = end + 1 - start;
		if (left > most) {
			most = left;
			best = chunk;
		}
	}
	if (!best || pace <= 0) return undefined;
	const share = tailShare(most, pace * (ttfb ?? 0), best.end - best.frontier, pace * STEAL_MIN_SAVING_MS);
	return share === 0 ? undefined : { chunk: best, share };
}

/** Bytes per ms one slot has received on average over `elapsed` ms. */
export function slotPace(bytesReceived: number, elapsed: number, concurrency: number): number {
	return elapsed > 0 ? bytesReceived / elapsed / concurrency : 0;
}

/**
 * How many bytes at the end of a busy run a free slot should take over, or 0 when none are worth
 * a request. `left` is what the run has still to receive, `lead` what it receives while the free
 * slot's request waits for its first byte, `room` the most its last chunk can give (past its
 * frontier). The free slot reads nothing for that wait while the busy one reads on, so both end
 * together when the tail is half of what is left once the lead is taken off; the download then
 * ends `share / pace` sooner, worth a request from `STEAL_MIN_LEAD` times the time to first byte,
 * `STEAL_MIN_BYTES` and `worth` (what a slot reads in `STEAL_MIN_SAVING_MS`) on.
 */
export function tailShare(left: number, lead: number, room: number, worth = 0): number {
	const share = Math.min(Math.floor((left - lead) / 2), room);
	return share >= Math.max(STEAL_MIN_BYTES, STEAL_MIN_LEAD * lead, worth) ? share : 0;
}
