import { HEDGE_BUDGET_FRACTION, HEDGES_PER_CHUNK, MAX_HEDGE_AFTER, MAX_HEDGES_PER_CHUNK } from '../constants.ts';
import type { RequestState } from '../request.ts';

/**
 * Hedging: a chunk that has gone without a byte for `hedge.after` ms, whatever feeds it, is asked
 * for again. The slot reading it leaves its quiet request behind, still in flight and still
 * feeding the chunk should it wake up, and asks for the rest of its chunks on a fresh request;
 * whichever completes a chunk first aborts the other. At most `maxHedging` requests are left
 * behind at once (the hedges' own allowance, apart from overlap's); with that many, the quiet
 * request is aborted instead and asked for again at once (no backoff, no failure counted). These are the
 * decisions, made from a read-only view; the engine carries them out.
 */

/** A chunk as hedging sees it. */
export interface QuietChunk {
	readonly done: boolean;
	/** Times it was hedged already. */
	readonly hedged: number;
	/** When its frontier last moved, or a request for it was sent. */
	readonly lastProgressAt: number;
}

export interface HedgeView<C extends QuietChunk, R extends { readonly state: RequestState }> {
	readonly now: number;
	/** The hedge delay in use, and how long a request still waiting for its headers may be quiet. */
	readonly after: number;
	readonly headersDelay: number;
	/** Hedges made so far, and the most the download may make. */
	readonly hedges: number;
	readonly budget: number;
	/** Requests left behind by hedging, in flight (see `Slots.detached`), and the most there may be. */
	readonly extra: number;
	readonly most: number;
	readonly chunks: Iterable<C>;
	/** The request a slot reads for this chunk; none when no slot reads it (waiting to retry, or further on in a run). */
	slotRequest(chunk: C): R | undefined;
}

/** Hedge `chunk`: leave `request` behind (`leave`), or abort it to ask again at once. */
export interface Hedge<C, R> {
	chunk: C;
	request: R;
	leave: boolean;
}

/** The chunks to hedge now, in order, within the download's budget and the allowance on top of the slots. */
export function stalled<C extends QuietChunk, R extends { readonly state: RequestState }>(view: HedgeView<C, R>): Hedge<C, R>[] {
	const hedges: Hedge<C, R>[] = [];
	let made = view.hedges;
	let extra = view.extra;
	for (const chunk of view.chunks) {
		if (made >= view.budget) break;
		const quiet = view.now - chunk.lastProgressAt;
		if (chunk.done || quiet < quietBeforeHedge(view.after, chunk.hedged)) continue;
		const request = view.slotRequest(chunk);
		// Slow servers are not stragglers: a request waiting for its headers gets longer.
		if (!request || (request.state === 'waiting' && quiet < view.headersDelay)) continue;
		made++;
		const leave = extra < view.most;
		if (leave) extra++;
		hedges.push({ chunk, request, leave });
	}
	return hedges;
}

/**
 * How long a chunk hedged `hedged` times already must be quiet before its next hedge: the hedge
 * delay for its first `HEDGES_PER_CHUNK`, then twice as long for each one more, and never past
 * `MAX_HEDGES_PER_CHUNK`. Servers that stall one response in ten stall one of its hedges in ten
 * too: with a hard stop at two, a chunk whose original and both hedges stalled waited out the
 * whole stall, holding the in-order stream (and the window) back meanwhile.
 */
export function quietBeforeHedge(after: number, hedged: number): number {
	if (hedged >= MAX_HEDGES_PER_CHUNK) return Infinity;
	return hedged < HEDGES_PER_CHUNK ? after : after * 2 ** (hedged - HEDGES_PER_CHUNK + 1);
}

/**
 * Hedges a download may make: `hedge.max`, a hard bound; by default 25 % of its chunks and at least
 * `concurrency`, plus one for each hedge that won. A hedge that completed its chunk first replaced
 * a request that had really stalled: it paid for itself, so only the hedges that did not win use
 * the budget up. Without that, a server with a few stragglers among its hedges and some false
 * alarms spent the budget early and every later straggler waited out its whole stall.
 */
export function hedgeBudget(max: number | undefined, concurrency: number, totalChunks: number | undefined, won = 0): number {
	return max ?? Math.max(concurrency, Math.ceil((totalChunks ?? 0) * HEDGE_BUDGET_FRACTION)) + won;
}

/** How long a request may wait for its headers before it counts as quiet: 3 x the typical time to first byte if that is longer. */
export function headersDelay(after: number, ttfb: number | undefined): number {
	return ttfb === undefined ? after : Math.max(after, 3 * ttfb);
}

/**
 * The hedge delay after a false alarm (a hedged chunk completed by the request that went quiet,
 * before its hedges delivered a byte: the network delivers in bursts): doubled, up to `MAX_HEDGE_AFTER`.
 */
export function afterFalseAlarm(after: number): number {
	return Math.min(2 * after, MAX_HEDGE_AFTER);
}

/**
 * The hedge delay after a hedge won (a request that really stalled): halved, down to the delay the
 * download started with. False alarms in a burst of a busy machine doubled it; left there, every
 * later straggler would wait that long.
 */
export function afterHedgeWon(after: number, initial: number): number {
	return Math.max(initial, after / 2);
}

/**
 * How often to look for stalled chunks while requests run: every quarter of the hedge delay. A
 * plain period, not a timer aimed at the next chunk's due time: that was exact in theory and
 * missed a stalled head now and then in practice.
 */
export function checkEvery(after: number): number {
	return Math.max(10, after / 4);
}
