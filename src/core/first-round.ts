import type { Download } from './download.ts';
import { RangeRequest } from './range-request.ts';

/**
 * Decision 2 of issue 13: with the size known up front (`size`), the chunks can be laid out
 * before discovery answers, so every other slot's first range goes out along with it, saving
 * one time to first byte. Those requests cannot be pinned yet: each answer waits for
 * discovery's verdict and is checked against its validator and total before a byte of it is
 * kept (`RangeRequest`). Without a known size discovery still goes first: for small objects
 * `concurrency` requests where one would do cost more than they gain. True when it went out;
 * discovery's own slot is then held until its run takes it, so that requests stay within
 * `concurrency`.
 */
export function sendFirstRound(download: Download): boolean {
	const { size, chunkSize } = download.options;
	if (size === undefined || size <= chunkSize) return false;
	const { plan, slots } = download;
	plan.size = size;
	plan.totalChunks = Math.ceil(size / chunkSize);
	slots.take('slot');
	const limit = plan.limit(false);
	while (slots.free && plan.nextStart < limit) new RangeRequest(download, plan.nextRun(plan.runLength(limit, slots.running))).start();
	return true;
}

/**
 * Discovery chose another way to read the object: the first round's chunks go, and discovery's
 * slot is given back (their requests see `discovered` false). The table holds those chunks
 * alone: discovery's own enters it only once the ranges are pinned.
 */
export function dropFirstRound(download: Download): void {
	const { plan } = download;
	plan.chunks.clear();
	plan.nextStart = 1;
	plan.totalChunks = undefined;
	download.slots.leave('slot');
}
