/**
 * Overlap: a run's slot starts its next request before the current one ends, once the bytes left
 * take no longer, at this response's pace, than a request takes to answer; the last bytes are read
 * on a place on top of the slots (see `Slots`), so nothing waits for a time to first byte between
 * two requests. The decision, from what the response has shown so far.
 *
 * `left`: bytes the run has still to read; `elapsed`: ms since the response's first bytes came;
 * `read`: bytes read since then; `ttfb`: the typical time to first byte (undefined: none measured).
 */
export function isNearEnd(left: number, elapsed: number, read: number, ttfb: number | undefined): boolean {
	// The pace counts once the body has been read for a time to first byte at least: pieces that
	// arrive together (what the socket held) say nothing about it.
	return ttfb !== undefined && left > 0 && elapsed >= ttfb && left * elapsed <= read * ttfb;
}
