/**
 * Where the bytes go. A file is written as `FILE.part` and renamed only once complete, so an
 * interrupted or failed download never leaves a file that looks whole (as wget and browsers do).
 * Beside `FILE.part`, `FILE.part.json` keeps the checkpoint of the bytes flushed to it, so that
 * `--continue` can go on from there (see `resume.ts`).
 */
import { open, rename, rm } from 'node:fs/promises';
import process from 'node:process';
import { Writable } from 'node:stream';
import type { Checkpoint } from '../core/checkpoint.ts';
import { partName, removeSidecar, type Sidecar, writeSidecar } from './resume.ts';

export { partName } from './resume.ts';

export interface Output {
	readonly writable: Writable;
	/** Whether the writable is ended when the bytes are done (never stdout: others may write after). */
	readonly end: boolean;
	/** The file name, or undefined for stdout. */
	readonly name: string | undefined;
	/** Call after every byte was written: makes the result visible under its name. */
	commit(): Promise<void>;
	/**
	 * Call on failure or interrupt: keeps `FILE.part` and its sidecar, flushed, when the download
	 * can be continued (`--continue`), and removes it otherwise. Resolves with the bytes kept
	 * (undefined when nothing was kept). `keep: false` removes it in any case (the object changed:
	 * it can never be completed). Never throws.
	 */
	abandon(keep?: boolean): Promise<number | undefined>;
}

export interface FileOutputOptions {
	/** Continue `FILE.part` from this offset: bytes beyond it are cut off first. Otherwise it starts empty. */
	from?: number;
	/** The download's checkpoint (`download.checkpoint()`); undefined when it cannot be continued. */
	checkpoint: () => Checkpoint | undefined;
	/** Flush and record the checkpoint once this many bytes were written since the last time. */
	flushBytes: number;
	/** ... or once this many ms have passed, at the next write. @default 1000 */
	flushMs?: number;
	/** The server's digest the download verifies, kept in the sidecar for `--continue`. */
	digest?: Sidecar['digest'];
}

const noop = (): void => {};

/**
 * `FILE.part`, written in order at its offsets. Every `flushBytes` bytes (or `flushMs`), the data
 * is flushed to the disk first and only then does the sidecar claim it: a kill -9 loses at most
 * what came since, and never leaves a sidecar ahead of the data.
 */
export async function fileOutput(file: string, options: FileOutputOptions): Promise<Output> {
	const part = partName(file);
	const { from, checkpoint, flushBytes, flushMs = 1000, digest } = options;
	let handle;
	if (from === undefined) {
		// A new run starts over: the sidecar of an earlier one goes first, so that it never describes these bytes.
		await removeSidecar(file);
		handle = await open(part, 'w');
	} else {
		handle = await open(part, 'r+');
		await handle.truncate(from);
	}
	const fd = handle;
	let written = from ?? 0;
	let flushed = written;
	let flushedAt = performance.now();
	let closed = false;
	/** The write or flush under way: a failure or commit waits for it. */
	let busy: Promise<void> = Promise.resolve();

	const record = async (): Promise<void> => {
		const current = checkpoint();
		if (!current) return;
		// The hash state describes the bytes handed out; kept only when those are the bytes on disk.
		const { hash, ...rest } = current;
		await writeSidecar(file, hash?.length === flushed ? { ...rest, offset: flushed, hash } : { ...rest, offset: flushed }, digest);
	};
	const flush = async (): Promise<void> => {
		if (written !== flushed) {
			// Deno before 2.2 has no FileHandle.datasync; sync() flushes the metadata too.
			await (typeof fd.datasync === 'function' ? fd.datasync() : fd.sync());
			flushed = written;
		}
		flushedAt = performance.now();
		await record();
	};
	// The pair is consistent from the first byte on: an empty part, or the checkpoint continued.
	await record();

	const writable = new Writable({
		write(chunk: Uint8Array, _encoding, callback) {
			busy = (async () => {
				let at = 0;
				while (at < chunk.byteLength) {
					const { bytesWritten } = await fd.write(chunk, at, chunk.byteLength - at, written);
					at += bytesWritten;
					written += bytesWritten;
				}
				if (written - flushed >= flushBytes || performance.now() - flushedAt >= flushMs) await flush();
			})();
			busy.then(() => callback(), callback);
		},
		final(callback) {
			busy = flush();
			busy.then(() => callback(), callback);
		},
	});
	const close = async (): Promise<void> => {
		if (closed) return;
		closed = true;
		await fd.close();
	};
	return {
		writable,
		end: true,
		name: file,
		async commit() {
			await busy;
			// Removing or renaming an open file fails on Windows.
			await close();
			await rename(part, file);
			await removeSidecar(file);
		},
		async abandon(keep = true) {
			await busy.catch(noop);
			if (!writable.destroyed) writable.destroy();
			try {
				if (!keep || checkpoint() === undefined) throw new Error('cannot be continued');
				await flush();
				await close();
				return flushed;
			} catch {
				await close().catch(noop);
				await rm(part, { force: true }).catch(noop);
				await removeSidecar(file).catch(noop);
				return undefined;
			}
		},
	};
}

export function stdoutOutput(): Output {
	return {
		writable: process.stdout,
		end: false,
		name: undefined,
		async commit() {},
		async abandon() {
			return undefined;
		},
	};
}
