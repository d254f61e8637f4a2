import { createHash } from 'node:crypto';

/** Reads a stream to its end; returns the sha256 of the bytes, their count and the pieces' count. */
export async function drain(readable: ReadableStream<Uint8Array>): Promise<{ sha256: string; length: number; pieces: number }> {
	const hash = createHash('sha256');
	let length = 0;
	let pieces = 0;
	const reader = readable.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		if (value.byteLength === 0) throw new Error('a zero-length chunk was enqueued');
		hash.update(value);
		length += value.byteLength;
		pieces++;
	}
	return { sha256: hash.digest('hex'), length, pieces };
}

export function sha256(bytes: Uint8Array): string {
	return createHash('sha256').update(bytes).digest('hex');
}

/** The rejection of `promise`, failing when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
	try {
		await promise;
	} catch (error) {
		return error as Error & Record<string, unknown>;
	}
	throw new Error('expected a rejection');
}

/** Reads until the stream errors: the error, and how many bytes the consumer saw before it. */
export async function readToError(readable: ReadableStream<Uint8Array>): Promise<{ error: Error & Record<string, unknown>; delivered: number }> {
	const reader = readable.getReader();
	let delivered = 0;
	const error = await rejection(
		(async () => {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) return;
				delivered += value.byteLength;
			}
		})(),
	);
	return { error, delivered };
}

/** Reads until at least `bytes` were read (or the end), then cancels; what was read. */
export async function readSome(readable: ReadableStream<Uint8Array>, bytes: number): Promise<Uint8Array> {
	const reader = readable.getReader();
	const pieces: Uint8Array[] = [];
	let read = 0;
	while (read < bytes) {
		const { done, value } = await reader.read();
		if (done) break;
		pieces.push(value);
		read += value.byteLength;
	}
	await reader.cancel('stopped');
	const out = new Uint8Array(read);
	let at = 0;
	for (const piece of pieces) {
		out.set(piece, at);
		at += piece.byteLength;
	}
	return out;
}
