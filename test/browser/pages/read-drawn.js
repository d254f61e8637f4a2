// The drawn consumer of a fault schedule (test/support/schedules.ts `Consumer`), shared by the
// Node schedules and the page's side of the Chromium ones: plain JavaScript, so that a page loads
// it as it is.

const KiB = 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads `reader` as `consumer` says: at its pace, pausing once at a fraction of `size`, cancelling
 * (with `other`, the second branch of a `tee()`, if any) at a fraction, or to the end or an error.
 * `onPiece` sees each piece read.
 */
export async function readDrawn({ reader, other, consumer, size, cancelReason, onPiece }) {
	const { ending, pause, reading } = consumer;
	const pauseAt = pause ? Math.floor(pause.fraction * size) : undefined;
	const cancelAt = ending.kind === 'cancel' ? Math.floor(ending.fraction * size) : undefined;
	let read = 0;
	let paused = false;
	let sinceSleep = 0;
	try {
		for (;;) {
			if (cancelAt !== undefined && read >= cancelAt) {
				// A branch of tee() settles its cancel() once the other branch is cancelled too.
				const cancelled = reader.cancel(cancelReason);
				await other?.cancel(cancelReason);
				await cancelled;
				return { kind: 'cancelled' };
			}
			if (pause && pauseAt !== undefined && !paused && read >= pauseAt) {
				paused = true;
				await sleep(pause.ms);
			}
			const { done, value } = await reader.read();
			if (done) return { kind: 'done' };
			onPiece(value);
			read += value.byteLength;
			if (reading.pace === 'slow') {
				sinceSleep += value.byteLength;
				if (sinceSleep >= 64 * KiB) {
					sinceSleep = 0;
					await sleep(reading.msPer64KiB);
				}
			}
		}
	} catch (error) {
		return { kind: 'error', error };
	}
}
