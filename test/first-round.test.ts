/**
 * The first round (issue 13, decision 2): with the size known up front (`size`), every slot's
 * first range goes out along with discovery, and each answer is checked against discovery's
 * validator and total before a byte of it is kept; without it, discovery goes first. Counted at
 * the origin: which requests arrived while discovery's answer was held back, and how many were in
 * flight then.
 */
import { describe, expect, it } from 'vitest';
import * as native from '../src/index.ts';
import { drain, rejection } from './support/collect.ts';
import { objectSha256 } from './support/object.ts';
import { type Fault } from './support/origin.ts';
import { useOrigin } from './support/use-origin.ts';

const KiB = 1024;
const chunkSize = 64 * KiB;
const size = 10 * chunkSize + 5;
const fast = { chunkSize, retry: { limit: 3, delay: () => 1, jitter: false }, hedge: false, overlap: false } as const;

const origin = useOrigin();

interface Arrival {
	range: string | undefined;
	pinned: boolean;
	/** Object requests in flight at the origin as this one arrived, itself included. */
	inFlight: number;
	/** Discovery had not been answered yet. */
	beforeDiscovery: boolean;
}

/**
 * Holds discovery's answer (the request for byte 0) until `others` more requests have arrived, or
 * 5 s have passed; records every arrival. `extra` adds a fault to the requests it names.
 */
function holdDiscovery(path: string, others: number, extra: (range: { start: number } | undefined, pinned: boolean) => Fault | undefined = () => undefined): Arrival[] {
	const arrivals: Arrival[] = [];
	let release!: () => void;
	const released = new Promise<void>((resolve) => {
		release = resolve;
	});
	const timer = setTimeout(() => release(), 5000);
	let answered = false;
	void released.then(() => {
		answered = true;
		clearTimeout(timer);
	});
	origin.fault(path, ({ range, headers }) => {
		const pinned = headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined;
		const discovery = range?.start === 0 && !pinned;
		arrivals.push({ range: headers.range, pinned, inFlight: origin.inFlight, beforeDiscovery: !discovery && !answered });
		if (arrivals.length === others + 1) release();
		// Every answer is held until all have arrived, so that none has ended by then. The order in
		// which they arrive is the sockets': discovery need not be the first.
		const fault = extra(range, pinned);
		return answered ? fault : { ...fault, until: released };
	});
	return arrivals;
}

describe('the first round', () => {
	it('goes out with discovery when `size` is given: every slot\'s first range, in flight together at the origin', async () => {
		const path = '/round-size.bin';
		const object = origin.put(path, { size, seed: 31 });
		const concurrency = 4;
		const arrivals = holdDiscovery(path, concurrency - 1);
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency, size });
		const out = await drain(download.readable);
		expect(out).toMatchObject({ sha256: await object.sha256(), length: size });
		const first = arrivals.slice(0, concurrency);
		expect(first.map((arrival) => arrival.range).sort()).toEqual([0, 1, 2, 3].map((i) => `bytes=${i * chunkSize}-${(i + 1) * chunkSize - 1}`).sort());
		expect(first.filter((arrival) => arrival.beforeDiscovery)).toHaveLength(concurrency - 1);
		expect(Math.max(...first.map((arrival) => arrival.inFlight))).toBe(concurrency);
		// Sent before the validator was known: unpinned, checked against discovery's answer instead.
		expect(first.map((arrival) => arrival.pinned)).toEqual([false, false, false, false]);
		expect(arrivals.slice(concurrency).every((arrival) => arrival.pinned)).toBe(true);
		expect(origin.maxInFlight).toBeLessThanOrEqual(concurrency);
		// Nothing wasted: one request per chunk.
		expect(download.stats).toMatchObject({ requests: 11, retries: 0, loaded: size, bytesReceived: size });
	});

	it('waits for discovery without `size`: no other request arrives before its answer', async () => {
		const path = '/round-nosize.bin';
		const object = origin.put(path, { size, seed: 32 });
		const arrivals: Arrival[] = [];
		origin.fault(path, ({ headers, count }) => {
			const discovery = origin.requestsTo(path)[0]!;
			arrivals.push({ range: headers.range, pinned: headers['if-match'] !== undefined, inFlight: origin.inFlight, beforeDiscovery: count > 1 && discovery.status === 0 });
			// Slow enough that an early round would be seen.
			return count === 1 ? { delayMs: 200 } : undefined;
		});
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4 });
		expect(await drain(download.readable)).toMatchObject({ sha256: await object.sha256() });
		expect(arrivals.filter((arrival) => arrival.beforeDiscovery)).toEqual([]);
		expect(arrivals.slice(1).every((arrival) => arrival.pinned)).toBe(true);
	});

	it.each([
		['an object of fewer chunks than slots', { size: 2 * chunkSize + 5 }, 2],
		['a `maxBuffer` of two chunks', { size, maxBuffer: 2 * chunkSize }, 1],
	])('the first round stays within the window: with %s, no range past it goes out before the pin', async (_case, options, early) => {
		const path = `/round-window-${_case.length}.bin`;
		const object = origin.put(path, { size: options.size, seed: 37 });
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, ...options });
		expect(await drain(download.readable)).toMatchObject({ sha256: await object.sha256(), length: options.size });
		// Sent before discovery answered, so unpinned: chunk 1 on, up to the window's end.
		const unpinned = origin.requestsTo(path).filter((record) => record.headers['if-match'] === undefined && record.range !== `bytes=0-${chunkSize - 1}`);
		expect(unpinned.map((record) => record.range)).toHaveLength(early);
		expect(download.stats).toMatchObject({ retries: 0, loaded: options.size, bytesReceived: options.size });
	});

	it('the last chunk of the first round asks open-ended: a `size` short of the object fails, never completes it', async () => {
		const path = '/round-short-size.bin';
		origin.put(path, { size: 3 * chunkSize, seed: 33 });
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, size: 3 * chunkSize - 1 });
		const error = await rejection(drain(download.readable));
		expect(native.isParallelGetError(error)).toBe(true);
		expect(origin.requestsTo(path).map((record) => record.range)).toContain(`bytes=${2 * chunkSize}-`);
		await origin.whenIdle();
	});

	it.each([
		['no strong validator (one plain GET instead)', { etag: null, lastModified: null }, 'single'],
		['a server that ignores Range', { acceptRanges: false }, 'single'],
	])('with %s, keeps nothing of the first round', async (_case, spec, mode) => {
		const path = `/round-drop-${_case.length}.bin`;
		const object = origin.put(path, { size, seed: 34, ...spec });
		holdDiscovery(path, 3);
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, size });
		expect(await drain(download.readable)).toMatchObject({ sha256: await object.sha256(), length: size });
		expect((await download.info).mode).toBe(mode);
		expect(download.stats).toMatchObject({ loaded: size, bytesReceived: size, inFlight: 0 });
		await origin.whenIdle();
	});

	it('an answer of the first round without the validator that pins is asked for again, pinned', async () => {
		const path = '/round-novalidator.bin';
		const object = origin.put(path, { size, seed: 35 });
		holdDiscovery(path, 3, (range, pinned) => (!pinned && range?.start === chunkSize ? { etag: null } : undefined));
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, size });
		expect(await drain(download.readable)).toMatchObject({ sha256: await object.sha256() });
		const chunk1 = origin.requestsTo(path).filter((record) => record.range?.startsWith(`bytes=${chunkSize}-`));
		expect(chunk1.map((record) => record.headers['if-match'])).toEqual([undefined, object.etag]);
		expect(download.stats.retries).toBe(1);
	});

	it.each([
		['another ETag', { etag: '"another"' }],
		['another total', { contentRange: `bytes ${chunkSize}-${2 * chunkSize - 1}/${size + 1}` }],
	])('an answer of the first round with %s fails with RevisionChangedError before a byte of it is kept', async (_case, fault) => {
		const path = `/round-changed-${_case.length}.bin`;
		origin.put(path, { size, seed: 36 });
		holdDiscovery(path, 3, (range, pinned) => (!pinned && range?.start === chunkSize ? fault : undefined));
		const download = new native.ParallelGetStream(origin.url(path), { ...fast, concurrency: 4, size });
		const error = await rejection(drain(download.readable));
		expect(native.isRevisionChangedError(error)).toBe(true);
		// Chunk 1's bytes were never kept: what was received is within the other chunks.
		expect(download.stats.loaded).toBeLessThanOrEqual(chunkSize);
		await origin.whenIdle();
	});
});
