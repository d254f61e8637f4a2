/** What a progress line shows, and how it is laid out in a terminal of a given width. */
import { formatBytes, formatDuration, formatRate } from './format.ts';

export interface ProgressState {
	/** Bytes written out, in order. */
	loaded: number;
	/** Size of the object, when known. */
	total: number | undefined;
	/** Range requests in flight. */
	inFlight: number;
	/** `-c auto`: the connections it uses now (shown instead of the requests in flight). */
	auto?: number | undefined;
	/** Recent speed in bytes per second. */
	rate: number;
}

/**
 * Speed over the last few seconds rather than since the start, so that the time left follows
 * the link as it is now (slow start, a straggler, a faster path).
 */
export class RateMeter {
	private readonly samples: Array<{ time: number; loaded: number }> = [];
	private readonly window: number;

	/** @param window milliseconds of history the speed is averaged over */
	constructor(window = 3000) {
		this.window = window;
	}

	/** Records `loaded` bytes at `time` (ms) and returns the speed in bytes per second. */
	sample(time: number, loaded: number): number {
		const samples = this.samples;
		samples.push({ time, loaded });
		// Keep one sample at or before the window's start, so the span covers the whole window.
		while (samples.length > 2 && (samples[1] as { time: number }).time <= time - this.window) samples.shift();
		const first = samples[0] as { time: number; loaded: number };
		const span = time - first.time;
		return span > 0 ? ((loaded - first.loaded) * 1000) / span : 0;
	}
}

function bar(fraction: number, width: number): string {
	const filled = Math.min(width, Math.floor(fraction * width));
	const head = filled < width ? '>' : '';
	return `[${'='.repeat(filled)}${head}${' '.repeat(Math.max(0, width - filled - head.length))}]`;
}

/**
 * One line, at most `columns - 1` wide so that it never wraps (a wrapped line cannot be redrawn
 * with `\r`). The bar takes whatever room the numbers leave, and is dropped when narrow.
 *
 * @example
 * ```ts
 * renderProgress({ loaded: 50 * 2 ** 20, total: 100 * 2 ** 20, inFlight: 8, rate: 25 * 2 ** 20 }, 80);
 * // ' 50% [========>       ]  50.0 MiB / 100.0 MiB   25.0 MiB/s    2.0s left  8 conn'
 * renderProgress({ loaded: 0, total: undefined, inFlight: 4, auto: 3, rate: 0 }, 80);
 * // '0 B  0 B/s  3 conn (auto)'
 * ```
 */
export function renderProgress(state: ProgressState, columns: number): string {
	const { loaded, total, inFlight, rate, auto } = state;
	const connections = auto === undefined ? `${inFlight} conn` : `${auto} conn (auto)`;
	if (total === undefined) {
		return fit([`${formatBytes(loaded)}`, formatRate(rate), connections].join('  '), columns);
	}
	const fraction = total === 0 ? 1 : Math.min(1, loaded / total);
	const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
	const left = rate > 0 ? `${formatDuration((total - loaded) / rate)} left` : '--- left';
	const size = formatBytes(total);
	// Padded so that the bar keeps its width while the numbers change.
	const numbers = `${formatBytes(loaded).padStart(size.length)} / ${size}  ${formatRate(rate).padStart(11)}  ${left.padStart(11)}  ${connections}`;
	const room = columns - 5 - percent.length - numbers.length;
	if (room >= 10) return `${percent} ${bar(fraction, Math.min(room, 50))} ${numbers}`;
	return fit(`${percent} ${formatBytes(loaded)}/${size} ${formatRate(rate)} ${left} ${connections}`, columns);
}

function fit(line: string, columns: number): string {
	return line.length < columns ? line : line.slice(0, Math.max(0, columns - 1));
}

export interface Summary {
	loaded: number;
	/** Milliseconds from start to end. */
	elapsed: number;
	/** Where the bytes went: a file name, or undefined for stdout. */
	output: string | undefined;
	requests: number;
	maxInFlight: number;
	retries: number;
	/** What the bytes were verified against, e.g. `sha256 (repr-digest)`; undefined when nothing was. */
	verified?: string;
	/** A resumed download (`--continue`): where this run started; `loaded` counts this run's bytes. */
	resumedFrom?: number;
	/** `-c auto`: the connections it ended with, and the most it used. */
	auto?: { concurrency: number; most: number } | undefined;
}

/**
 * @example
 * ```ts
 * renderSummary({ loaded: 2 ** 30, elapsed: 8000, output: 'a.iso', requests: 129, maxInFlight: 8, retries: 0 });
 * // 'a.iso: 1.0 GiB in 8.0s (128.0 MiB/s), 129 requests, up to 8 at once'
 * ```
 */
export function renderSummary(summary: Summary): string {
	const { loaded, elapsed, output, requests, maxInFlight, retries, verified, resumedFrom, auto } = summary;
	const seconds = elapsed / 1000;
	const rate = seconds > 0 ? loaded / seconds : 0;
	const retried = retries > 0 ? `, ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
	const plural = requests === 1 ? 'request' : 'requests';
	const resumed = resumedFrom === undefined ? '' : `, resumed at ${formatBytes(resumedFrom)}`;
	const adapted = auto === undefined ? '' : `, auto: ${auto.concurrency} connections at the end, ${auto.most} at most`;
	return `${output ?? 'stdout'}: ${formatBytes(loaded)} in ${formatDuration(seconds)} (${formatRate(rate)})${resumed}, ${requests} ${plural}, up to ${maxInFlight} at once${retried}${adapted}${verified === undefined ? '' : `, ${verified} verified`}`;
}
