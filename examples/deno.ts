/**
 * Downloads a URL to a file over parallel range requests, with progress on stderr.
 *
 *   deno run --allow-net --allow-read --allow-write deno.ts https://example.com/big.iso big.iso
 *
 * In your own project, add the package first: `deno add npm:parallel-get-stream`.
 * Ctrl-C stops every request; the partial download (`<file>.part`) is removed.
 */
/// <reference lib="deno.ns" />
import { ParallelGetStream, type Progress } from 'parallel-get-stream';

const encoder = new TextEncoder();
const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const say = (text: string): void => {
	Deno.stderr.writeSync(encoder.encode(text));
};

/** Prints a line each time another whole percent (or, size unknown, 16 MiB) has arrived. */
function progressPrinter(): (progress: Progress) => void {
	let last = -1;
	const terminal = Deno.stderr.isTerminal();
	return ({ loaded, total, inFlight }) => {
		const step = total ? Math.floor((loaded / total) * 100) : Math.floor(loaded / 16 / 1024 ** 2);
		if (step === last) return;
		last = step;
		const line = total ? `${step}% ${mib(loaded)} of ${mib(total)}, ${inFlight} requests` : `${mib(loaded)}, ${inFlight} requests`;
		say(terminal ? `\r\x1b[K${line}` : `${line}\n`);
	};
}

async function main(url: string, output: string): Promise<void> {
	const controller = new AbortController();
	const stop = (): void => controller.abort();
	Deno.addSignalListener('SIGINT', stop);
	const part = `${output}.part`;
	const download = new ParallelGetStream(url, { signal: controller.signal, onProgress: progressPrinter() });
	try {
		const file = await Deno.open(part, { write: true, create: true, truncate: true });
		// pipeTo() reads only as fast as the file takes the bytes, and closes the file at the end.
		await download.readable.pipeTo(file.writable);
		await Deno.rename(part, output);
	} catch (error) {
		await Deno.remove(part).catch(() => {});
		throw error;
	} finally {
		Deno.removeSignalListener('SIGINT', stop);
	}
	const { size, mode } = await download.info;
	say(`${Deno.stderr.isTerminal() ? '\n' : ''}Saved ${output}: ${size ?? download.stats.loaded} bytes (${mode}, ${download.stats.requests} requests)\n`);
}

const [url, output] = Deno.args;
if (!url || !output) {
	say('Usage: deno run --allow-net --allow-read --allow-write deno.ts <url> <file>\n');
	Deno.exitCode = 2;
} else {
	main(url, output).catch((error: unknown) => {
		say(`\n${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
		Deno.exitCode = 1;
	});
}
