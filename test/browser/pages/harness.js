// Page side of the browser tests: downloads with the built package and reports what it saw, as
// plain data the test can compare (bytes by SHA-256, the library's info and counters, errors).
import * as library from 'parallel-get-stream';

const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** SHA-256 of the pieces in order. SubtleCrypto has no incremental digest, so they are joined first. */
async function sha256(pieces, length) {
	const all = new Uint8Array(length);
	let offset = 0;
	for (const piece of pieces) {
		all.set(piece, offset);
		offset += piece.byteLength;
	}
	return hex(await crypto.subtle.digest('SHA-256', all));
}

function describeError(error) {
	if (error === undefined) return undefined;
	return {
		name: error?.name,
		code: error?.code,
		status: error?.status,
		message: String(error?.message ?? error),
		isParallelGetError: library.isParallelGetError(error),
	};
}

/** Reads `readable` to its end or its error, noting `download.stats.loaded` when the first piece came out. */
async function readAll(readable, download) {
	const pieces = [];
	let length = 0;
	let loadedAtFirstPiece;
	let zeroLengthPieces = 0;
	let error;
	const reader = readable.getReader();
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			if (value.byteLength === 0) zeroLengthPieces++;
			if (loadedAtFirstPiece === undefined) loadedAtFirstPiece = download.stats.loaded;
			pieces.push(value);
			length += value.byteLength;
		}
	} catch (caught) {
		error = caught;
	}
	return { sha256: await sha256(pieces, length), length, loadedAtFirstPiece, zeroLengthPieces, error: describeError(error) };
}

/** One download through `ParallelGetStream`; `gunzip` pipes it through DecompressionStream('gzip'). */
async function download(url, options = {}, { gunzip = false } = {}) {
	const parallel = new library.ParallelGetStream(url, options);
	const readable = gunzip ? parallel.readable.pipeThrough(new DecompressionStream('gzip')) : parallel.readable;
	const result = await readAll(readable, parallel);
	let info;
	try {
		info = await parallel.info;
	} catch {
		// The stream's error is reported above.
	}
	return { ...result, info, stats: parallel.stats };
}

// A download left running, for the cancellation tests: started, read part way, then stopped.
let running;

function start(url, options = {}) {
	const controller = new AbortController();
	const parallel = new library.ParallelGetStream(url, { ...options, signal: controller.signal });
	running = { controller, parallel, reader: parallel.readable.getReader(), length: 0 };
}

async function readAtLeast(count) {
	while (running.length < count) {
		const { done, value } = await running.reader.read();
		if (done) break;
		running.length += value.byteLength;
	}
	return running.length;
}

/** `reader.cancel()`: resolves once the stream's cancel steps ran. */
async function cancel() {
	await running.reader.cancel(new Error('the page has read enough'));
	return { length: running.length, stats: running.parallel.stats };
}

/** Aborts the signal given to the download; the next read must fail with its reason. */
async function abort() {
	running.controller.abort();
	let error;
	try {
		for (;;) {
			const { done } = await running.reader.read();
			if (done) break;
		}
	} catch (caught) {
		error = caught;
	}
	return { error: describeError(error), stats: running.parallel.stats };
}

window.library = library;
window.harness = { download, start, readAtLeast, cancel, abort };
