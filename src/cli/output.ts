/**
 * Where the bytes go. A file is written as `FILE.part` and renamed only once complete, so an
 * interrupted or failed download never leaves a file that looks whole (as wget and browsers do).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import process from 'node:process';
import type { Writable } from 'node:stream';

export interface Output {
	readonly writable: Writable;
	/** Whether the writable is ended when the bytes are done (never stdout: others may write after). */
	readonly end: boolean;
	/** The file name, or undefined for stdout. */
	readonly name: string | undefined;
	/** Call after every byte was written: makes the result visible under its name. */
	commit(): Promise<void>;
	/** Call on failure or interrupt: removes whatever was written. Never throws. */
	discard(): Promise<void>;
}

export function partName(file: string): string {
	return `${file}.part`;
}

export function fileOutput(file: string): Output {
	const part = partName(file);
	const writable = createWriteStream(part);
	// Removing or renaming an open file fails on Windows; both wait for the descriptor to close.
	const closed = new Promise<void>((resolve) => writable.once('close', () => resolve()));
	return {
		writable,
		end: true,
		name: file,
		async commit() {
			await closed;
			await rename(part, file);
		},
		async discard() {
			if (!writable.destroyed) writable.destroy();
			await closed;
			await rm(part, { force: true }).catch(() => {});
		},
	};
}

export function stdoutOutput(): Output {
	return {
		writable: process.stdout,
		end: false,
		name: undefined,
		async commit() {},
		async discard() {},
	};
}
