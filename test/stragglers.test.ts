/**
 * `Stragglers`, the part that carries out hedging and tail stealing for one download, against a
 * download of its own making: real `Plan` and `Slots`, requests that never answer, and the clock
 * and timers faked. What it is held to: the one timer that looks for stalls exists only while it
 * can find one (hedging on, runs reading, budget left) and never outlives the download; a stolen
 * tail is the share the policy chose, at the pace the download has had since it started.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Download } from '../src/core/download.ts';
import { checkEvery } from '../src/core/policies/hedging.ts';
import { Plan } from '../src/core/plan.ts';
import { Slots } from '../src/core/slots.ts';
import { Stragglers } from '../src/core/stragglers.ts';

const MiB = 1024 * 1024;
const chunkSize = 8 * MiB;

interface Setup {
	/** The normalized `hedge` option; false: hedging off. */
	hedge?: { after: number; max: number | undefined } | false;
	/** Runs holding a slot. */
	runs?: number;
	hedges?: number;
	concurrency?: number;
	totalChunks?: number;
	bytesReceived?: number;
}

/** A download as `Stragglers` sees it; its requests are sent and never answered. */
function fakeDownload({ hedge: given = { after: 100, max: undefined }, runs = 1, hedges = 0, concurrency = 2, totalChunks = 8, bytesReceived = 0 }: Setup = {}) {
	const hedge = given === false ? undefined : given;
	const slots = new Slots(concurrency);
	for (let i = 0; i < runs; i++) slots.take('slot');
	const plan = new Plan(chunkSize, concurrency);
	plan.size = totalChunks * chunkSize;
	plan.totalChunks = totalChunks;
	plan.nextStart = totalChunks;
	const sent: unknown[] = [];
	const download = {
		url: 'http://127.0.0.1/object.bin',
		options: { hedge, overlap: false, retry: { limit: 0, delay: () => 0, backoffLimit: 0, maxRetryAfter: 0, jitter: false } },
		facts: { pin: { kind: 'etag', etag: '"v1"' }, totalFromCaller: false, crossOrigin: false },
		counters: { hedges, hedgesWon: 0, steals: 0, bytesReceived },
		hedgeAfter: hedge?.after ?? 0,
		settled: false,
		plan,
		slots,
		requests: {
			ttfb: undefined,
			slotRequest: () => undefined,
			open: (range: unknown) => {
				sent.push(range);
				return new Promise(() => {});
			},
		},
		schedule: vi.fn(),
		fail: vi.fn(),
	};
	return { download: download as unknown as Download, fake: download, sent };
}

describe('the timer that looks for stalls', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	it('is armed while runs read, and looks again through schedule() once it fires', () => {
		const { download, fake } = fakeDownload();
		const stragglers = new Stragglers(download, () => 0);
		stragglers.arm();
		expect(vi.getTimerCount()).toBe(1);
		vi.advanceTimersByTime(checkEvery(download.hedgeAfter));
		vi.runOnlyPendingTimers();
		expect(fake.schedule).toHaveBeenCalledTimes(1);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('is one at a time: arming it again while it waits adds none', () => {
		const { download } = fakeDownload();
		const stragglers = new Stragglers(download, () => 0);
		stragglers.arm();
		stragglers.arm();
		expect(vi.getTimerCount()).toBe(1);
	});

	it('is never armed with hedging off', () => {
		const { download } = fakeDownload({ hedge: false });
		new Stragglers(download, () => 0).arm();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('is never armed with no run reading (a consumer that stopped reading)', () => {
		const { download } = fakeDownload({ runs: 0 });
		new Stragglers(download, () => 0).arm();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('is never armed once the hedges are spent: none could be made', () => {
		const { download } = fakeDownload({ hedge: { after: 100, max: 2 }, hedges: 2 });
		new Stragglers(download, () => 0).arm();
		expect(vi.getTimerCount()).toBe(0);
		// One hedge left: the timer is armed.
		const { download: left } = fakeDownload({ hedge: { after: 100, max: 2 }, hedges: 1 });
		new Stragglers(left, () => 0).arm();
		expect(vi.getTimerCount()).toBe(1);
	});

	it('is cleared when the download ends: no timer outlives it', () => {
		const { download } = fakeDownload();
		const stragglers = new Stragglers(download, () => 0);
		stragglers.arm();
		stragglers.stop();
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('tail stealing', () => {
	const now = 10_000;
	beforeEach(() => {
		vi.spyOn(performance, 'now').mockReturnValue(now);
	});
	afterEach(() => {
		vi.restoreAllMocks();
	});

	/** The last chunk, `chunkSize` bytes with nothing received, read by a slot; the other slot free. */
	function lastChunk(setup: Setup) {
		const made = fakeDownload({ totalChunks: 8, ...setup });
		const chunk = made.fake.plan.addChunk(7);
		return { ...made, chunk };
	}

	it('takes over the back half of the busiest run, exactly: the run stops where the tail begins', () => {
		// 16 MiB in 1 s over 2 slots: 8 MiB/s a slot, a tail of 4 MiB saves 500 ms.
		const { download, fake, chunk, sent } = lastChunk({ bytesReceived: 16 * MiB });
		const end = chunk.end;
		new Stragglers(download, () => now - 1000).stealTails();
		expect(fake.counters.steals).toBe(1);
		expect(chunk.end).toBe(end - 4 * MiB);
		expect(chunk.tail).toMatchObject({ start: end + 1 - 4 * MiB, end });
		expect(sent).toEqual([{ start: end + 1 - 4 * MiB, end }]);
	});

	it('measures the pace since the download started: a tail a fast download reads in under 50 ms is not stolen', () => {
		// 1 GiB in 100 ms over 2 slots: the 4 MiB tail is read in under a millisecond.
		const { download, fake, chunk, sent } = lastChunk({ bytesReceived: 1024 * MiB });
		const end = chunk.end;
		new Stragglers(download, () => now - 100).stealTails();
		expect(fake.counters.steals).toBe(0);
		expect(chunk.end).toBe(end);
		expect(sent).toEqual([]);
	});
});
