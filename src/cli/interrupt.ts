/**
 * Ctrl-C and SIGTERM: the first one aborts the download (every request, through the signal the
 * download was given) and lets the CLI clean up; a second one exits at once.
 */
import process from 'node:process';

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** Shell convention: 128 + the signal's number. */
export const interruptExitCode: Record<InterruptSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** The abort reason the download fails with when interrupted. */
export class InterruptedError extends Error {
	override name = 'InterruptedError';
	readonly signal: InterruptSignal;

	constructor(signal: InterruptSignal) {
		super(`interrupted by ${signal}`);
		this.signal = signal;
	}
}

export class Interrupt {
	readonly controller = new AbortController();
	/** The first signal received, if any. */
	received: InterruptSignal | undefined;

	private readonly onSigint = (): void => this.on('SIGINT');
	private readonly onSigterm = (): void => this.on('SIGTERM');

	constructor() {
		process.on('SIGINT', this.onSigint);
		try {
			process.on('SIGTERM', this.onSigterm);
		} catch {
			// Deno on Windows listens only for SIGINT and SIGBREAK; Ctrl-C still works there.
		}
	}

	get signal(): AbortSignal {
		return this.controller.signal;
	}

	/** Stops listening: the runtime's default handling (exit) applies again. */
	dispose(): void {
		process.off('SIGINT', this.onSigint);
		process.off('SIGTERM', this.onSigterm);
	}

	private on(signal: InterruptSignal): void {
		if (this.received !== undefined) {
			// Cleanup is taking too long for the user: leave now, as they asked twice.
			process.exit(interruptExitCode[this.received]);
		}
		this.received = signal;
		this.controller.abort(new InterruptedError(signal));
	}
}
