import { expect } from 'vitest';

/** Chunks one request may cover at most (the engine's WINDOW_FACTOR). */
export const MAX_RUN = 2;

/**
 * Checks that the Range headers of a download's chunk requests tile the object: each starts on a
 * chunk boundary, covers one to MAX_RUN whole chunks (the object's last chunk may be short), and
 * together they cover every byte exactly once. Returns the chunks each request covered.
 */
export function expectChunkRuns(ranges: readonly (string | undefined)[], size: number, chunkSize: number): number[] {
	const spans = ranges.map((range) => {
		// Open-ended only for the last chunk when the total came from the caller (`size`).
		const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
		expect(match, `a byte range, got ${range}`).not.toBeNull();
		return { start: Number(match![1]), end: match![2] === '' ? size - 1 : Number(match![2]) };
	});
	spans.sort((a, b) => a.start - b.start);
	let next = 0;
	const lengths: number[] = [];
	for (const { start, end } of spans) {
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
