/**
 * hash-wasm's throughput in Chromium (a page: what the library hashes with there), as
 * bench/hash-throughput.ts measures it in Node, Deno and Bun: 64 KiB pieces of a 256 MiB buffer,
 * median of 5 runs, MB/s = 10^6 bytes/s. `node bench/hash-throughput-chromium.ts`.
 */
import { launchChromium } from '../test/browser/support/chromium.ts';
import { startOrigin } from '../test/support/origin.ts';

const root = new URL('../', import.meta.url).pathname;
const origin = await startOrigin();
origin.serveDir('/node_modules/hash-wasm/', `${root}node_modules/hash-wasm`);
origin.serveDir('/pages/', `${root}test/browser/pages`);
const browser = await launchChromium();
try {
	const page = await browser.newPage();
	await page.goto(origin.url('/pages/harness.html'));
	const version = browser.version();
	const rows = await page.evaluate(async (href) => {
		const wasm = await import(href);
		const SIZE = 256 * 1024 * 1024;
		const PIECE = 64 * 1024;
		const data = new Uint8Array(SIZE);
		for (let i = 0; i < SIZE; i += 4) data[i] = (i * 2654435761) >>> 24;
		const makers: Record<string, () => Promise<{ update(b: Uint8Array): unknown; digest(): unknown }>> = {
			sha256: () => wasm.createSHA256(),
			sha512: () => wasm.createSHA512(),
			md5: () => wasm.createMD5(),
			crc32c: () => wasm.createCRC32(0x82f63b78),
			crc64nvme: () => wasm.createCRC64('9a6c9329ac4bc9b5'),
		};
		const out: [string, number][] = [];
		for (const [name, make] of Object.entries(makers)) {
			const rates: number[] = [];
			for (let run = 0; run < 5; run++) {
				const hasher = await make();
				const started = performance.now();
				for (let at = 0; at < SIZE; at += PIECE) hasher.update(data.subarray(at, at + PIECE));
				hasher.digest();
				rates.push(SIZE / 1e6 / ((performance.now() - started) / 1000));
			}
			rates.sort((a, b) => a - b);
			out.push([name, rates[2] as number]);
		}
		return out;
	}, origin.url('/node_modules/hash-wasm/dist/index.esm.js'));
	for (const [name, rate] of rows) console.log(`| Chromium ${version} | ${name} | ${rate.toFixed(0)} | – |`);
} finally {
	await browser.close();
	await origin.close();
}
