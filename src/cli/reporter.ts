/**
 * Progress on stderr: a bar redrawn in place on a terminal, one summary line when stderr is a
 * file or a pipe (a log should not fill with redraws), nothing when quiet.
 */
import { RateMeter, renderProgress, renderSummary, type Summary } from './progress.ts';

export type ReporterMode = 'bar' | 'summary' | 'quiet';

export interface Snapshot {
	loaded: number;
	total: number | undefined;
	inFlight: number;
	auto?: number | undefined;
}

export interface ReporterOptions {
	mode: ReporterMode;
	write: (text: string) => void;
	/** Width of the terminal, read at each redraw so that a resize is followed. */
	columns: () => number;
	/** Milliseconds between redraws. @default 100 */
	interval?: number;
	now?: () => number;
}

// Carriage return and "erase to end of line" (ECMA-48 EL): redraws without leftovers.
const CLEAR = '\r\u001B[K';

export class Reporter {
	private readonly options: ReporterOptions;
	private readonly meter = new RateMeter();
	private timer: ReturnType<typeof setInterval> | undefined;
	private drawn = false;

	constructor(options: ReporterOptions) {
		this.options = options;
	}

	/**
	 * Redraws from `read()` on a timer rather than on every delivered piece: the rate is bounded
	 * (10 per second by default) and the speed keeps updating while no bytes arrive.
	 */
	start(read: () => Snapshot): void {
		if (this.options.mode !== 'bar' || this.timer !== undefined) return;
		const draw = (): void => this.draw(read());
		this.timer = setInterval(draw, this.options.interval ?? 100);
		draw();
	}

	/** Stops redrawing and wipes the bar, so an error message starts on a clean line. */
	stop(): void {
		if (this.timer !== undefined) clearInterval(this.timer);
		this.timer = undefined;
		if (this.drawn) this.options.write(CLEAR);
		this.drawn = false;
	}

	/** Replaces the bar with the summary line. */
	done(summary: Summary): void {
		this.stop();
		if (this.options.mode !== 'quiet') this.options.write(`${renderSummary(summary)}\n`);
	}

	private draw(snapshot: Snapshot): void {
		const now = this.options.now ?? (() => performance.now());
		const rate = this.meter.sample(now(), snapshot.loaded);
		this.options.write(`${CLEAR}${renderProgress({ ...snapshot, rate }, this.options.columns())}`);
		this.drawn = true;
	}
}
