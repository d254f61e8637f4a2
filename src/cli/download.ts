/**
 * One download from the command line: the file or stdout, the progress, `--continue`, and the
 * exit status. Loaded by `main.ts` only when there is something to download, so that `--version`,
 * `--help` and usage errors start without the library.
 */
import process from 'node:process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Checkpoint } from '../core/checkpoint.ts';
import { DEFAULT_CHUNK_SIZE } from '../core/constants.ts';
import { ParallelGetStream } from '../core/parallel-get-stream.ts';
import { isIntegrityError } from '../errors/integrity-error.ts';
import { isRevisionChangedError } from '../errors/revision-changed-error.ts';
import { type ExpectedDigest, parseIntegrity } from '../integrity/digest.ts';
import type { DownloadCommand } from './args.ts';
import { describeError } from './describe-error.ts';
import { formatBytes } from './format.ts';
import { Interrupt, interruptExitCode } from './interrupt.ts';
import { fileOutput, type Output, stdoutOutput } from './output.ts';
import { Reporter } from './reporter.ts';
import { ContinueError, findCheckpoint, partName, sidecarDigest, sidecarName, withHash } from './resume.ts';
import { exitCode, say, usageError } from './status.ts';

/** The digest `--checksum`/`--integrity` give; a malformed one is the library's usage error, later. */
function expectedDigest(integrity: string): ExpectedDigest | undefined {
	try {
		return parseIntegrity(integrity);
	} catch {
		return undefined;
	}
}

/** `1.0 MiB of 4.0 MiB (25%)`. */
function describeOffset(offset: number, size: number | undefined): string {
	if (size === undefined || size === 0) return formatBytes(offset);
	return `${formatBytes(offset)} of ${formatBytes(size)} (${Math.floor((offset / size) * 100)}%)`;
}

export async function download(command: DownloadCommand): Promise<number> {
	if (command.output === undefined && process.stdout.isTTY) {
		// As curl does: binary data would garble the terminal. `-o -` still forces it.
		return usageError('refusing to write binary data to a terminal: use -o FILE, or pipe the output');
	}
	const interrupt = new Interrupt();
	const reporter = new Reporter({
		mode: command.quiet ? 'quiet' : process.stderr.isTTY ? 'bar' : 'summary',
		write: (text) => process.stderr.write(text),
		columns: () => process.stderr.columns || 80,
	});
	const started = performance.now();
	let output: Output | undefined;
	let resume: Checkpoint | undefined;
	try {
		if (command.continue) resume = await findCheckpoint(command.output as string);
		// The caller's digest, or the server's that the first run verified: over the whole file.
		const expected = command.integrity !== undefined ? expectedDigest(command.integrity) : command.verify && resume ? await sidecarDigest(command.output as string) : undefined;
		if (resume && expected) resume = await withHash(command.output as string, resume, expected);
	} catch (error) {
		if (!(error instanceof ContinueError)) throw error;
		say(error.message);
		return exitCode.failed;
	}
	try {
		let stream: ParallelGetStream;
		try {
			stream = new ParallelGetStream(command.url, {
				...(resume ? { resume } : {}),
				signal: interrupt.signal,
				headers: command.headers,
				...(command.concurrency === undefined ? {} : { concurrency: command.concurrency }),
				...(command.chunkSize === undefined ? {} : { chunkSize: command.chunkSize }),
				...(command.retries === undefined ? {} : { retry: command.retries }),
				...(command.hedge ? {} : { hedge: false }),
				...(command.overlap ? {} : { overlap: false }),
				...(command.integrity === undefined ? {} : { integrity: command.integrity }),
				...(command.verify ? {} : { verify: false }),
			});
		} catch (error) {
			// A sidecar whose checkpoint the library refuses (edited, or from another program).
			if (resume && (error instanceof TypeError || error instanceof RangeError)) {
				say(`${sidecarName(command.output as string)}: ${error.message}: run without --continue to start over`);
				return exitCode.failed;
			}
			// The library validates options eagerly (a reserved header such as Range, ...).
			if (error instanceof TypeError || error instanceof RangeError) return usageError(error.message);
			throw error;
		}
		// The first response decides whether there is anything to write: a 404 leaves no file.
		const auto = command.concurrency === 'auto';
		const info = await stream.info;
		const from = resume?.offset;
		output =
			command.output === undefined || command.output === '-'
				? stdoutOutput()
				: await fileOutput(command.output, {
						...(from === undefined ? {} : { from }),
						checkpoint: () => stream.checkpoint(),
						flushBytes: command.chunkSize ?? DEFAULT_CHUNK_SIZE,
						...(info.digest && info.digest.source !== 'integrity' ? { digest: info.digest } : {}),
					});
		if (from !== undefined && !command.quiet) say(`resuming ${partName(command.output as string)} at ${describeOffset(from, info.size)}`);
		reporter.start(() => {
			const { loaded, inFlight, concurrency } = stream.stats;
			return { loaded, total: info.size, inFlight, ...(auto ? { auto: concurrency } : {}) };
		});
		// pipeline() waits for the writable at every write (backpressure), so memory stays
		// within the download's own window however slow the disk or the reading process is.
		await pipeline(Readable.fromWeb(stream.readable as NodeReadableStream<Uint8Array>), output.writable, { end: output.end });
		await output.commit();
		const stats = stream.stats;
		reporter.done({
			// This run's bytes; the summary says where it resumed.
			loaded: stats.loaded - (from ?? 0),
			...(from === undefined ? {} : { resumedFrom: from }),
			elapsed: performance.now() - started,
			output: output.name,
			requests: stats.requests,
			maxInFlight: stats.maxInFlight,
			retries: stats.retries,
			...(auto ? { auto: { concurrency: stats.concurrency, most: stats.maxConcurrency } } : {}),
			...(info.digest ? { verified: `${info.digest.algorithm} (${info.digest.source})` } : {}),
		});
		return exitCode.ok;
	} catch (error) {
		reporter.stop();
		// Whatever failed (network, disk, a closed pipe), no request may outlive the CLI's verdict.
		interrupt.controller.abort(error);
		// A changed object can never be completed from what was written, and bytes that failed
		// verification must not be continued: nothing is kept then.
		const kept = await output?.abandon(!isRevisionChangedError(error) && !isIntegrityError(error));
		const name = output?.name;
		// What a later run can do with what is left: continue it, or nothing (it was removed).
		const left = name === undefined ? '' : kept === undefined ? `removed ${partName(name)}` : `kept ${partName(name)} (${formatBytes(kept)}) and ${sidecarName(name)}: --continue goes on from there`;
		if (interrupt.received !== undefined) {
			say(`interrupted by ${interrupt.received}${left ? `, ${left}` : ''}`);
			return interruptExitCode[interrupt.received];
		}
		if (resume && isRevisionChangedError(error)) {
			// Nothing of the new revision is appended to the old one: the part is left as it was.
			say(`${command.output} changed on the server since ${partName(command.output as string)} was started (${describeError(error)}): --continue cannot apply; run without --continue to start over`);
			return exitCode.failed;
		}
		if (output !== undefined && output.name === undefined && (error as { code?: unknown }).code === 'EPIPE') {
			// `| head -c 100` and the like: the reader had enough. Not the download's fault.
			say('stdout was closed before the end of the download (EPIPE)');
			return exitCode.failed;
		}
		if (isIntegrityError(error)) {
			say(describeError(error));
			say(`expected ${error.algorithm} ${error.expected} (${error.source})`);
			say(`received ${error.algorithm} ${error.actual}${left ? `; ${left}` : ''}`);
			return exitCode.failed;
		}
		say(`${describeError(error)}${kept === undefined ? '' : ` (${left})`}`);
		return exitCode.failed;
	} finally {
		reporter.stop();
		interrupt.dispose();
	}
}
