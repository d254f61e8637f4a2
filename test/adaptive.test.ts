/**
 * The part that carries `concurrency: 'auto'` out (`src/core/adaptive.ts`), against a fake
 * download and a fake policy on a fake clock: when it samples and what a sample says, what it
 * passes on to the policy, how the slots follow the target, and the log of changes. The policy's
 * own decisions are tested in `policies/concurrency.test.ts`; the whole against the shaped origin
 * in `adaptive-concurrency.test.ts`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveConcurrency, concurrencyPolicy } from '../src/core/adaptive.ts';
import type { Download } from '../src/core/download.ts';
import { normalizeOptions, type ParallelGetOptions } from '../src/core/options.ts';
import { type ConcurrencyPolicy, type ConcurrencyReason, START_CONCURRENCY, type ThroughputSample } from '../src/core/policies/concurrency.ts';
import { StallError } from '../src/errors/stall-error.ts';
import { UnexpectedResponseError } from '../src/errors/unexpected-response-error.ts';

/** The part's shortest interval between samples (`SAMPLE_MS`). */
const SAMPLE_MS = 100;
/** Changes kept in `stats.concurrencyChanges` (`MAX_CHANGES_LOGGED`). */
const MAX_CHANGES_LOGGED = 64;

/** A 503 with `Retry-After`: a limit at once, no confirming needed. */
const busy = () => new UnexpectedResponseError('503', { status: 503, retryable: true, retryAfter: 1000 });

/**
 * A download as the part sees it: `running` slots of `concurrency` reading, `nextStart` of
 * `totalChunks` started, the consumer waiting for bytes or not (`networkBound`), pinned or not.
 */
interface Shape {
	concurrency?: number;
	running?: number;
	nextStart?: number;
	totalChunks?: number;
	pinned?: boolean;
	ttfb?: number | undefined;
}

function fakeDownload({ concurrency = START_CONCURRENCY, running = concurrency, nextStart = 10, totalChunks = 100, pinned = true, ttfb }: Shape = {}) {
	const slots = {
		concurrency,
		running,
		get free() {
			return this.running < this.concurrency;
		},
		resize(to: number) {
			this.concurrency = to;
		},
	};
	const download = {
		options: { retry: { maxRetryAfter: 60_000 } },
		counters: { bytesReceived: 0, transferring: 0, inFlight: 0, concurrency: 0, maxConcurrency: 0, concurrencyChanges: [] as { at: number; concurrency: number; reason: string }[] },
		plan: { nextStart, totalChunks, concurrency },
		slots,
		requests: { ttfb },
		facts: { pin: pinned ? { kind: 'etag', etag: '"v1"', lastModified: undefined } : undefined },
		settled: false,
		schedule: vi.fn(),
	};
	return download;
}

/** A policy that records what it is fed and answers `next()`'s target. */
function fakePolicy(next: () => number = () => START_CONCURRENCY) {
	const fed = { samples: [] as ThroughputSample[], pushbacks: [] as unknown[], answers: [] as unknown[] };
	const policy = {
		reason: 'grow' as ConcurrencyReason,
		sample: (sample: ThroughputSample) => (fed.samples.push(sample), next()),
		pushback: (event: unknown) => (fed.pushbacks.push(event), next()),
		answered: (event: unknown) => (fed.answers.push(event), next()),
	};
	return { policy: policy as unknown as ConcurrencyPolicy, fed };
}

/** The part over `download`, started `startedAt` on the fake clock; `networkBound` read at each call. */
function adaptive(download: ReturnType<typeof fakeDownload>, policy: ConcurrencyPolicy | undefined, consumer = { waits: false }, startedAt = performance.now()) {
	return new AdaptiveConcurrency(download as unknown as Download, policy, () => consumer.waits, () => startedAt);
}

beforeEach(() => {
	vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
	// The fake clock starts at 0, which a real `performance.now()` never is.
	vi.advanceTimersByTime(1000);
});

afterEach(() => {
	vi.useRealTimers();
});

describe('concurrencyPolicy', () => {
	const cutFor = (options: ParallelGetOptions) => {
		const policy = concurrencyPolicy(normalizeOptions({ concurrency: 'auto', ...options }));
		// The server refused while serving 3: with 1 allowed on top of 2 or 3 slots, 2 fit.
		return policy?.pushback({ at: 0, kind: 'throttled', retryAfter: 1000, accepted: 3 });
	};

	it("concurrencyPolicy - a server's limit counts the requests on top of the slots when hedging or overlap is on, only then", () => {
		expect(cutFor({ hedge: true, overlap: false })).toBe(2);
		expect(cutFor({ hedge: false, overlap: true })).toBe(2);
		expect(cutFor({ hedge: false, overlap: false })).toBe(3);
	});
});

describe('AdaptiveConcurrency - sampling', () => {
	it('AdaptiveConcurrency - samples every SAMPLE_MS while slots read, what was received over that time', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy);
		part.arm();
		download.counters.bytesReceived = 5000;
		vi.advanceTimersByTime(SAMPLE_MS - 1);
		expect(fed.samples).toHaveLength(0);
		vi.advanceTimersByTime(1);
		expect(fed.samples).toEqual([{ at: 1000 + SAMPLE_MS, ms: SAMPLE_MS, bytes: 5000, saturated: true }]);
		expect(download.schedule).toHaveBeenCalledTimes(1);
	});

	it('AdaptiveConcurrency - samples every 2 x the time to first byte when that is longer than SAMPLE_MS', () => {
		const download = fakeDownload({ ttfb: 80 });
		const { policy, fed } = fakePolicy();
		adaptive(download, policy).arm();
		vi.advanceTimersByTime(159);
		expect(fed.samples).toHaveLength(0);
		vi.advanceTimersByTime(1);
		expect(fed.samples.map((sample) => sample.ms)).toEqual([160]);
	});

	it('AdaptiveConcurrency - a sample covers the time since the last one, the gap before the timer was armed again included', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy);
		part.arm();
		vi.advanceTimersByTime(SAMPLE_MS);
		// No slot ran for a while (nothing armed the timer again), then bytes came and one did.
		vi.advanceTimersByTime(50);
		download.counters.bytesReceived = 3000;
		part.arm();
		vi.advanceTimersByTime(SAMPLE_MS);
		expect(fed.samples.map(({ ms, bytes }) => ({ ms, bytes }))).toEqual([
			{ ms: SAMPLE_MS, bytes: 0 },
			{ ms: 50 + SAMPLE_MS, bytes: 3000 },
		]);
	});

	it('AdaptiveConcurrency - one sample timer at a time, none while no slot reads, none left once stopped', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy);
		part.arm();
		part.arm();
		expect(vi.getTimerCount()).toBe(1);
		vi.advanceTimersByTime(SAMPLE_MS);
		expect(fed.samples).toHaveLength(1);

		download.slots.running = 0;
		part.arm();
		expect(vi.getTimerCount()).toBe(0);

		download.slots.running = 2;
		part.arm();
		part.stop();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('AdaptiveConcurrency - a timer that fires once the download has settled samples nothing and changes nothing', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy(() => 8);
		adaptive(download, policy).arm();
		download.settled = true;
		vi.advanceTimersByTime(SAMPLE_MS);
		expect(fed.samples).toHaveLength(0);
		expect(download.slots.concurrency).toBe(START_CONCURRENCY);
		expect(download.schedule).not.toHaveBeenCalled();
	});

	it('AdaptiveConcurrency - the slots and the window follow the target of a sample, and the slots added are filled at once', () => {
		const download = fakeDownload();
		const { policy } = fakePolicy(() => 8);
		adaptive(download, policy).arm();
		vi.advanceTimersByTime(SAMPLE_MS);
		expect(download.slots.concurrency).toBe(8);
		expect(download.plan.concurrency).toBe(8);
		expect(download.counters.concurrencyChanges.map(({ concurrency, reason }) => [concurrency, reason])).toEqual([[8, 'grow']]);
		expect(download.schedule).toHaveBeenCalledTimes(1);
	});
});

describe('AdaptiveConcurrency - saturated: the interval says something about the link', () => {
	/** The `saturated` of one interval in which `during` ran, the consumer waiting or not. */
	function saturated(download: ReturnType<typeof fakeDownload>, during: (part: AdaptiveConcurrency) => void = () => {}, consumer = { waits: false }): boolean {
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy, consumer);
		part.arm();
		during(part);
		vi.advanceTimersByTime(SAMPLE_MS);
		const [sample] = fed.samples;
		if (!sample) throw new Error('no sample');
		return sample.saturated;
	}

	it('AdaptiveConcurrency - every slot reading, chunks left to start: saturated', () => {
		expect(saturated(fakeDownload())).toBe(true);
	});

	it('AdaptiveConcurrency - a slot held back by the window during the interval: not saturated, though every slot reads at its end', () => {
		expect(saturated(fakeDownload(), (part) => part.heldBack())).toBe(false);
	});

	it('AdaptiveConcurrency - a slot free while the consumer sets the pace: not saturated', () => {
		expect(saturated(fakeDownload({ running: START_CONCURRENCY - 1 }))).toBe(false);
	});

	it('AdaptiveConcurrency - a slot free while the consumer waits for bytes: saturated, the link sets the pace', () => {
		expect(saturated(fakeDownload({ running: START_CONCURRENCY - 1 }), undefined, { waits: true })).toBe(true);
	});

	it('AdaptiveConcurrency - every chunk started: not saturated, whatever the slots do', () => {
		expect(saturated(fakeDownload({ nextStart: 100, totalChunks: 100 }))).toBe(false);
	});
});

describe("AdaptiveConcurrency - the server's answers and pushback", () => {
	it('AdaptiveConcurrency - a 503 before the ranges are pinned (discovery) is not fed to the policy', () => {
		const download = fakeDownload({ pinned: false });
		const { policy, fed } = fakePolicy();
		adaptive(download, policy).pushback(busy());
		expect(fed.pushbacks).toHaveLength(0);
	});

	it('AdaptiveConcurrency - a failure that is no pushback (a stall, a 500) is not fed to the policy', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy);
		part.pushback(new StallError(10));
		part.pushback(new UnexpectedResponseError('500', { status: 500, retryable: true }));
		expect(fed.pushbacks).toHaveLength(0);
		part.pushback(busy());
		expect(fed.pushbacks).toEqual([{ at: 1000, kind: 'throttled', retryAfter: 1000, accepted: 0 }]);
	});

	it('AdaptiveConcurrency - an answer tells the policy how many the server serves at once; none once settled', () => {
		const download = fakeDownload();
		const { policy, fed } = fakePolicy();
		const part = adaptive(download, policy);
		download.counters.transferring = 3;
		part.answered();
		expect(fed.answers).toEqual([{ at: 1000, serving: 3 }]);
		download.settled = true;
		part.answered();
		expect(fed.answers).toHaveLength(1);
	});

	it('AdaptiveConcurrency - a cut for a 503 is undone once the server serves more at once than when it refused', () => {
		const download = fakeDownload();
		const policy = concurrencyPolicy(normalizeOptions({ concurrency: 'auto', hedge: false, overlap: false }));
		const part = adaptive(download, policy);
		download.counters.inFlight = 2;
		part.pushback(busy());
		download.counters.transferring = 3;
		part.answered();
		expect(download.counters.concurrencyChanges.map(({ concurrency, reason }) => [concurrency, reason])).toEqual([
			[2, 'throttled'],
			[START_CONCURRENCY, 'undo'],
		]);
	});
});

describe('AdaptiveConcurrency - the log of changes', () => {
	it('AdaptiveConcurrency - logs when each change came, in ms since the download started', () => {
		const download = fakeDownload();
		const part = adaptive(download, undefined, undefined, 400);
		part.log(4, 'start');
		vi.advanceTimersByTime(250);
		part.log(8, 'grow');
		expect(download.counters.concurrencyChanges).toEqual([
			{ at: 600, concurrency: 4, reason: 'start' },
			{ at: 850, concurrency: 8, reason: 'grow' },
		]);
		expect(download.counters).toMatchObject({ concurrency: 8, maxConcurrency: 8 });
	});

	it('AdaptiveConcurrency - keeps MAX_CHANGES_LOGGED changes: the first half of them and the latest', () => {
		const download = fakeDownload();
		const part = adaptive(download, undefined);
		const changes = 3 * MAX_CHANGES_LOGGED;
		for (let i = 1; i <= changes; i++) part.log(i, 'probe');
		const kept = download.counters.concurrencyChanges.map((change) => change.concurrency);
		const first = Array.from({ length: MAX_CHANGES_LOGGED / 2 }, (_, i) => i + 1);
		const latest = Array.from({ length: MAX_CHANGES_LOGGED / 2 }, (_, i) => changes - MAX_CHANGES_LOGGED / 2 + 1 + i);
		expect(kept).toEqual([...first, ...latest]);
	});
});
