import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeError } from '../src/cli/describe-error.ts';
import { formatBytes, formatDuration, formatRate } from '../src/cli/format.ts';
import { RateMeter, renderProgress, renderSummary } from '../src/cli/progress.ts';
import { Reporter } from '../src/cli/reporter.ts';
import { RetriesExhaustedError, RevisionChangedError, UnexpectedResponseError } from '../src/index.ts';

const MiB = 2 ** 20;

describe('formatBytes / formatRate / formatDuration', () => {
	it.each([
		[0, '0 B'],
		[1023, '1023 B'],
		[1024, '1.0 KiB'],
		[1536, '1.5 KiB'],
		[8 * MiB, '8.0 MiB'],
		[1024 * MiB - 1, '1.0 GiB'],
		[3 * 2 ** 40, '3.0 TiB'],
	])('formatBytes(%d) is %o', (bytes, text) => {
		expect(formatBytes(bytes)).toBe(text);
	});

	it('formatRate appends /s', () => {
		expect(formatRate(25 * MiB)).toBe('25.0 MiB/s');
	});

	it.each([
		[0, '0.0s'],
		[1.25, '1.3s'],
		[42.4, '42s'],
		[65, '1m05s'],
		[7322, '2h02m'],
		[90_000, '1d01h'],
		[Number.POSITIVE_INFINITY, '?'],
		[-1, '?'],
	])('formatDuration(%d) is %o', (seconds, text) => {
		expect(formatDuration(seconds)).toBe(text);
	});
});

describe('RateMeter - speed over a sliding window', () => {
	it('follows the recent rate, not the average since the start', () => {
		const meter = new RateMeter(1000);
		expect(meter.sample(0, 0)).toBe(0);
		// 1 MiB/s for two seconds, then 4 MiB/s for two seconds.
		let loaded = 0;
		let rate = 0;
		for (let t = 100; t <= 2000; t += 100) rate = meter.sample(t, (loaded += MiB / 10));
		expect(rate).toBeCloseTo(MiB, -3);
		for (let t = 2100; t <= 4000; t += 100) rate = meter.sample(t, (loaded += (4 * MiB) / 10));
		expect(rate).toBeCloseTo(4 * MiB, -3);
	});
});

describe('renderProgress - one line that never wraps', () => {
	const state = { loaded: 50 * MiB, total: 100 * MiB, inFlight: 8, rate: 25 * MiB };

	it('shows percentage, bar, bytes, speed, time left and connections', () => {
		expect(renderProgress(state, 80)).toBe(' 50% [========>       ]  50.0 MiB / 100.0 MiB   25.0 MiB/s    2.0s left  8 conn');
	});

	it.each([20, 40, 60, 80, 120, 300])('fits in %d columns', (columns) => {
		const line = renderProgress(state, columns);
		expect(line.length).toBeLessThan(columns);
		if (columns >= 60) expect(line).toContain('8 conn');
	});

	it('keeps the bar width while the numbers change', () => {
		const samples = [
			{ loaded: 0, rate: 0 },
			{ loaded: 1, rate: 1024 },
			{ loaded: 512 * 1024, rate: 200 * 1024 },
			{ loaded: 10 * MiB, rate: 120 * MiB },
			{ loaded: 99 * MiB, rate: MiB / 100 },
			{ loaded: 100 * MiB, rate: 5 * MiB },
		];
		const widths = samples.map((sample) => renderProgress({ ...state, ...sample }, 100).indexOf(']'));
		expect(new Set(widths).size).toBe(1);
	});

	it('without a known size, or before any speed is known', () => {
		expect(renderProgress({ loaded: 3 * MiB, total: undefined, inFlight: 1, rate: MiB }, 80)).toBe('3.0 MiB  1.0 MiB/s  1 conn');
		expect(renderProgress({ ...state, loaded: 0, rate: 0 }, 80)).toContain('--- left');
		expect(renderProgress({ loaded: 0, total: 0, inFlight: 0, rate: 0 }, 80)).toMatch(/^100% /);
	});

	it('with -c auto, the connections in use rather than the requests in flight', () => {
		expect(renderProgress({ loaded: 3 * MiB, total: undefined, inFlight: 4, auto: 3, rate: MiB }, 80)).toBe('3.0 MiB  1.0 MiB/s  3 conn (auto)');
		expect(renderProgress({ ...state, auto: 12 }, 100)).toMatch(/ 12 conn \(auto\)$/);
	});
});

describe('renderSummary', () => {
	it('names the output, size, time, speed and requests', () => {
		expect(renderSummary({ loaded: 2 ** 30, elapsed: 8000, output: 'a.iso', requests: 129, maxInFlight: 8, retries: 0 })).toBe(
			'a.iso: 1.0 GiB in 8.0s (128.0 MiB/s), 129 requests, up to 8 at once',
		);
		expect(renderSummary({ loaded: 10, elapsed: 0, output: undefined, requests: 1, maxInFlight: 1, retries: 1 })).toBe(
			'stdout: 10 B in 0.0s (0 B/s), 1 request, up to 1 at once, 1 retry',
		);
		expect(renderSummary({ loaded: 2 ** 30, elapsed: 8000, output: 'a.iso', requests: 129, maxInFlight: 5, retries: 0, auto: { concurrency: 3, most: 8 } })).toBe(
			'a.iso: 1.0 GiB in 8.0s (128.0 MiB/s), 129 requests, up to 5 at once, auto: 3 connections at the end, 8 at most',
		);
	});

	it('says where a continued download resumed; the size and speed are this run\'s', () => {
		expect(renderSummary({ loaded: 2 ** 29, elapsed: 4000, output: 'a.iso', requests: 65, maxInFlight: 8, retries: 0, resumedFrom: 2 ** 29 })).toBe(
			'a.iso: 512.0 MiB in 4.0s (128.0 MiB/s), resumed at 512.0 MiB, 65 requests, up to 8 at once',
		);
	});
});

describe('Reporter - redraw rate and modes', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it('bar mode redraws at most every interval, then replaces the bar with the summary', () => {
		vi.useFakeTimers();
		const writes: string[] = [];
		let now = 0;
		const reporter = new Reporter({ mode: 'bar', write: (text) => writes.push(text), columns: () => 80, interval: 100, now: () => now });
		let loaded = 0;
		reporter.start(() => ({ loaded, total: 10 * MiB, inFlight: 2 }));
		for (let step = 0; step < 10; step++) {
			now += 100;
			loaded += MiB;
			vi.advanceTimersByTime(100);
		}
		// One draw at start and one per interval, whatever the number of deliveries.
		expect(writes).toHaveLength(11);
		expect(writes.every((text) => text.startsWith('\r\u001B[K'))).toBe(true);
		expect(writes.at(-1)).toContain('100%');
		reporter.done({ loaded, elapsed: 1000, output: 'f', requests: 3, maxInFlight: 2, retries: 0 });
		expect(writes.at(-2)).toBe('\r\u001B[K');
		expect(writes.at(-1)).toBe('f: 10.0 MiB in 1.0s (10.0 MiB/s), 3 requests, up to 2 at once\n');
		vi.advanceTimersByTime(1000);
		expect(writes).toHaveLength(13);
	});

	it('summary mode writes exactly one line; quiet writes nothing', () => {
		vi.useFakeTimers();
		for (const [mode, expected] of [['summary', 1], ['quiet', 0]] as const) {
			const writes: string[] = [];
			const reporter = new Reporter({ mode, write: (text) => writes.push(text), columns: () => 80 });
			reporter.start(() => ({ loaded: 1, total: 1, inFlight: 0 }));
			vi.advanceTimersByTime(5000);
			reporter.done({ loaded: 1, elapsed: 10, output: undefined, requests: 1, maxInFlight: 1, retries: 0 });
			expect(writes).toHaveLength(expected);
		}
	});
});

describe('describeError - one line, code first', () => {
	it('names the code, the status and the network cause', () => {
		const notFound = new UnexpectedResponseError('status 404 Not Found', { url: 'http://h/f', status: 404, range: { start: 0, end: 9 } });
		expect(describeError(notFound)).toBe('ERR_UNEXPECTED_RESPONSE: Unexpected response [HTTP 404] from http://h/f (bytes 0-9): status 404 Not Found');

		const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
		const exhausted = new RetriesExhaustedError(3, { cause: new TypeError('fetch failed', { cause: refused }) });
		expect(describeError(exhausted)).toBe('ERR_RETRIES_EXHAUSTED: Gave up after 3 attempts: fetch failed (ECONNREFUSED)');

		const changed = new RevisionChangedError('412 Precondition Failed', { range: { start: 8, end: 15 } });
		expect(describeError(changed)).toBe('ERR_REVISION_CHANGED: The object changed during the download: 412 Precondition Failed (bytes 8-15)');
	});

	it('output errors keep their system code; anything else still makes one line', () => {
		const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
		expect(describeError(full)).toBe('ENOSPC: no space left on device, write');
		const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
		expect(describeError(pipe)).toBe('EPIPE: write EPIPE');
		expect(describeError(new TypeError('a\nb'))).toBe('TypeError: a b');
		expect(describeError('boom')).toBe('unexpected failure: boom');
	});
});
