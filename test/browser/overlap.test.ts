/**
 * Chromium: overlapping requests. Each answer comes 100 ms after its request and bodies arrive at
 * 1 MiB/s, so a slot near the end of its request has a time to first byte of bytes left: it
 * sends its next request then. Each slot may have one such request (issue 13, decision 1), so
 * requests in flight reach concurrency + 1 when one slot ends at a time, twice concurrency when
 * both do, never more.
 */
import { expect, it } from 'vitest';
import { objectSha256 } from '../support/object.ts';
import { expectChunkRuns } from '../support/runs.ts';
import { describeChromium, usePage } from './support/chromium.ts';
import { type DownloadResult, useHarness } from './support/site.ts';

const CHUNK = 256 * 1024;
const SIZE = 8 * CHUNK;

describeChromium('Chromium: overlapping requests', () => {
	const chromium = usePage();
	const harness = useHarness(chromium);

	/** Downloads a shaped object with 2 slots and no hedging; checks its bytes and that no request was added. */
	async function download(path: string, seed: number, overlap: boolean): Promise<DownloadResult> {
		const { site } = harness;
		site.put(path, { size: SIZE, seed });
		site.fault(path, () => ({ bytesPerSecond: 4 * CHUNK, delayMs: 100 }));
		const options = { chunkSize: CHUNK, concurrency: 2, hedge: false, overlap };
		const result = await chromium.page.evaluate(([href, opts]) => window.harness.download(href, opts), [site.url(path), options] as const);
		expect(result.error).toBeUndefined();
		expect(result.sha256).toBe(await objectSha256(SIZE, seed));
		const gets = site.requestsTo(path).filter((record) => record.method === 'GET');
		expect(result.stats.requests).toBe(expectChunkRuns(gets.map((record) => record.range), SIZE, CHUNK).length);
		return result;
	}

	it('sends a slot’s next request while its current one ends: 3 or 4 in flight for 2 slots, no more', async () => {
		const { stats } = await download('/overlap.bin', 71, true);
		expect(stats.overlaps).toBeGreaterThanOrEqual(1);
		expect(stats.maxInFlight).toBeGreaterThanOrEqual(3);
		expect(stats.maxInFlight).toBeLessThanOrEqual(4);
		expect(harness.site.maxInFlight).toBeGreaterThanOrEqual(3);
		expect(harness.site.maxInFlight).toBeLessThanOrEqual(4);
	});

	it('keeps 2 in flight with `overlap: false`', async () => {
		const { stats } = await download('/no-overlap.bin', 72, false);
		expect(stats.overlaps).toBe(0);
		expect(stats.maxInFlight).toBe(2);
		expect(harness.site.maxInFlight).toBe(2);
	});
});
