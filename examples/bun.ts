/**
 * Downloads a URL to a file over parallel range requests, with progress on stderr.
 *
 *   bun bun.ts https://example.com/big.iso big.iso
 *
 * Ctrl-C stops every request; the partial download (`<file>.part`) is removed.
 */
import { rename, rm } from 'node:fs/promises';
import { parallelGet, type Progress } from 'parallel-get-stream';

const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** Prints a line each time another whole percent (or, size unknown, 16 MiB) has arrived. */
function progressPrinter(): (progress: Progress) => void {
	let last = -1;
	return ({ loaded, total, inFlight }) => {
		const step = total ? Math.floor((loaded / total) * 100) : Math.floor(loaded / 16 / 1024 ** 2);
		if (step === last) return;
		last = step;
		const line = total ? `${step}% ${mib(loaded)} of ${mib(total)}, ${inFlight} requests` : `${mib(loaded)}, ${inFlight} requests`;
		process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
	};
}

async function main(url: string, output: string): Promise<void> {
	const controller = new AbortController();
	const stop = (): void => controller.abort();
	process.once('SIGINT', stop);
	const part = `${output}.part`;
	try {
		// parallelGet() resolves with a Response once the first answer is checked; Bun.write()
		// streams its body to the file as the in-order bytes arrive.
		const response = await parallelGet(url, { signal: controller.signal, onProgress: progressPrinter() });
		const written = await Bun.write(part, response);
		await rename(part, output);
		process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}Saved ${output}: ${written} bytes\n`);
	} catch (error) {
		await rm(part, { force: true });
		throw error;
	} finally {
		process.off('SIGINT', stop);
	}
}

const [url, output] = Bun.argv.slice(2);
if (!url || !output) {
	process.stderr.write('Usage: bun bun.ts <url> <file>\n');
	process.exitCode = 2;
} else {
	main(url, output).catch((error: unknown) => {
		process.stderr.write(`\n${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
		process.exitCode = 1;
	});
}
