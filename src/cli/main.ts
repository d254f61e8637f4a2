/**
 * The CLI: arguments to a download, the download to a file or stdout, progress to stderr, and an
 * exit status. Only `node:` modules that Deno and Bun implement too.
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ParallelGetStream } from '../core/parallel-get-stream.ts';
import { type DownloadCommand, parseArgs, synopsis, usage, UsageError } from './args.ts';
import { describeError } from './describe-error.ts';
import { Interrupt, interruptExitCode } from './interrupt.ts';
import { fileOutput, type Output, stdoutOutput } from './output.ts';
import { Reporter } from './reporter.ts';

const program = 'parallel-get-stream';

/** Exit statuses; interrupts add 130 (SIGINT) and 143 (SIGTERM). */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;

function say(line: string): void {
	process.stderr.write(`${program}: ${line}\n`);
}

function usageError(message: string): number {
	say(message);
	process.stderr.write(`${synopsis}\nRun \`${program} --help\` for the options.\n`);
	return exitCode.usage;
}

function version(): string {
	// Read at run time: the package file sits outside the compiled tree (src/ -> dist/).
	const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
	return pkg.version ?? 'unknown';
}

/**
 * Runs the CLI with the arguments after the program name and resolves with the exit status.
 * Never rejects for a failed download: it prints one line saying why and resolves with 1.
 */
export async function main(argv: readonly string[]): Promise<number> {
	let command;
	try {
		command = parseArgs(argv);
	} catch (error) {
		if (error instanceof UsageError) return usageError(error.message);
		throw error;
	}
	if (command.command === 'help') {
		process.stdout.write(usage);
		return exitCode.ok;
	}
	if (command.command === 'version') {
		process.stdout.write(`${version()}\n`);
		return exitCode.ok;
	}
	return download(command);
}

async function download(command: DownloadCommand): Promise<number> {
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
	try {
		let stream: ParallelGetStream;
		try {
			stream = new ParallelGetStream(command.url, {
				signal: interrupt.signal,
				headers: command.headers,
				...(command.concurrency === undefined ? {} : { concurrency: command.concurrency }),
				...(command.chunkSize === undefined ? {} : { chunkSize: command.chunkSize }),
				...(command.retries === undefined ? {} : { retry: command.retries }),
				...(command.hedge ? {} : { hedge: false }),
				...(command.overlap ? {} : { overlap: false }),
			});
		} catch (error) {
			// The library validates options eagerly (a reserved header such as Range, ...).
			if (error instanceof TypeError || error instanceof RangeError) return usageError(error.message);
			throw error;
		}
		const auto = command.concurrency === 'auto';
		// The first response decides whether there is anything to write: a 404 leaves no file.
		const info = await stream.info;
		output = command.output === undefined || command.output === '-' ? stdoutOutput() : fileOutput(command.output);
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
			loaded: stats.loaded,
			elapsed: performance.now() - started,
			output: output.name,
			requests: stats.requests,
			maxInFlight: stats.maxInFlight,
			retries: stats.retries,
			...(auto ? { auto: { concurrency: stats.concurrency, most: stats.maxConcurrency } } : {}),
		});
		return exitCode.ok;
	} catch (error) {
		reporter.stop();
		// Whatever failed (network, disk, a closed pipe), no request may outlive the CLI's verdict.
		interrupt.controller.abort(error);
		await output?.discard();
		if (interrupt.received !== undefined) {
			say(`interrupted by ${interrupt.received}${output?.name === undefined ? '' : `, removed ${output.name}.part`}`);
			return interruptExitCode[interrupt.received];
		}
		if (output !== undefined && output.name === undefined && (error as { code?: unknown }).code === 'EPIPE') {
			// `| head -c 100` and the like: the reader had enough. Not the download's fault.
			say('stdout was closed before the end of the download (EPIPE)');
			return exitCode.failed;
		}
		say(describeError(error));
		return exitCode.failed;
	} finally {
		reporter.stop();
		interrupt.dispose();
	}
}
