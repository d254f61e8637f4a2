import { expect } from 'vitest';

/** Chunks one request may cover at most (the engine's WINDOW_FACTOR). */
export const MAX_RUN = 2;

interface Span {
	start: number;
	end: number;
}

function spans(ranges: readonly (string | undefined)[], size: number): Span[] {
	return ranges.map((range) => {
		// Open-ended only for the last chunk when the total came from the caller (`size`).
		const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
		expect(match, `a byte range, got ${range}`).not.toBeNull();
		return { start: Number(match![1]), end: match![2] === '' ? size - 1 : Number(match![2]) };
	});
}

/**
 * Checks that the Range headers of a download's chunk requests tile the object: each starts on a
 * chunk boundary, covers one to MAX_RUN whole chunks (the object's last chunk may be short), and
 * together they cover every byte exactly once. Returns the chunks each request covered.
 *
 * With `tails`, requests for tails split off a chunk at the end of the download (tail stealing)
 * are allowed besides: each starts inside a chunk and ends where that chunk ends or where another
 * tail of it starts. They are left out of the tiling and of the result; see `tailRanges`.
 *
 * With `reasks`, a request that starts where an earlier one did is allowed too, ending at the same
 * byte or short of it (the chunk was split since): the same bytes asked for again before any of
 * them came, by a hedge of a chunk quiet from its start (under load, where hedging is on). It is
 * left out of the rest of the checks, and of the result.
 */
export function expectChunkRuns(ranges: readonly (string | undefined)[], size: number, chunkSize: number, { tails = false, reasks = false } = {}): number[] {
	const all = reasks ? withoutReasks(spans(ranges, size)) : spans(ranges, size);
	const runs = tails ? all.filter((span) => span.start % chunkSize === 0) : all;
	if (tails) expectTails(all, size, chunkSize);
	runs.sort((a, b) => a.start - b.start);
	let next = 0;
	const lengths: number[] = [];
	for (const { start, end } of runs) {
		expect(start, 'ranges neither overlap nor leave a gap').toBe(next);
		expect(start % chunkSize, 'a request starts on a chunk boundary').toBe(0);
		const chunks = Math.ceil((end + 1 - start) / chunkSize);
		expect(end + 1 === size || (end + 1 - start) % chunkSize === 0, `whole chunks, got ${start}-${end}`).toBe(true);
		expect(chunks).toBeGreaterThanOrEqual(1);
		expect(chunks).toBeLessThanOrEqual(MAX_RUN);
		lengths.push(chunks);
		next = end + 1;
	}
	expect(next, 'the ranges reach the end of the object').toBe(size);
	return lengths;
}

/** The spans in order of request, less those that start where an earlier one did (checked to end no later). */
function withoutReasks(all: readonly Span[]): Span[] {
	const first = new Map<number, Span>();
	for (const span of all) {
		const earlier = first.get(span.start);
		if (earlier) expect(span.end, `asked again from ${span.start}, no further than before`).toBeLessThanOrEqual(earlier.end);
		else first.set(span.start, span);
	}
	return [...first.values()];
}

/** The ranges that start inside a chunk: tails split off (or hedges, where those are on). */
export function tailRanges(ranges: readonly (string | undefined)[], size: number, chunkSize: number): Span[] {
	return spans(ranges, size).filter((span) => span.start % chunkSize !== 0);
}

/** Each tail lies inside one chunk, starts where no other does, and ends at the chunk's end or just before another tail. */
function expectTails(all: readonly Span[], size: number, chunkSize: number): void {
	const tails = all.filter((span) => span.start % chunkSize !== 0);
	const starts = new Set(tails.map((span) => span.start));
	expect(starts.size, 'no two tails start at the same byte').toBe(tails.length);
	for (const { start, end } of tails) {
		const chunkEnd = Math.min((Math.floor(start / chunkSize) + 1) * chunkSize, size) - 1;
		expect(end <= chunkEnd && (end === chunkEnd || starts.has(end + 1)), `a tail ends where its chunk or the next tail does, got ${start}-${end}`).toBe(true);
	}
}
