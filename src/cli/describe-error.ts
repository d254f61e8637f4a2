/** Turns a failure into the one line the CLI prints: its stable code first, then what happened. */
import { isParallelGetError } from '../errors/parallel-get-error.ts';

interface Coded {
	code?: unknown;
	cause?: unknown;
	message?: unknown;
}

/**
 * What the end of the cause chain says: its deepest `code` (`ECONNREFUSED` under fetch's "fetch
 * failed"), or else the deepest message ("bad port").
 */
function rootCause(error: unknown): string | undefined {
	let code: string | undefined;
	let message: string | undefined;
	const seen = new Set<unknown>();
	for (let current = error; current && typeof current === 'object' && !seen.has(current); current = (current as Coded).cause) {
		seen.add(current);
		const candidate = current as Coded;
		if (typeof candidate.code === 'string') code = candidate.code;
		if (typeof candidate.message === 'string' && candidate.message !== '') message = candidate.message;
	}
	return code ?? message;
}

function oneLine(text: string): string {
	return text.replace(/\s+/g, ' ').trim();
}

/**
 * @example
 * ```ts
 * describeError(new RetriesExhaustedError(6, { cause: fetchFailed }));
 * // 'ERR_RETRIES_EXHAUSTED: Gave up after 6 attempts (bytes 0-8388607): fetch failed (ECONNREFUSED)'
 * ```
 */
export function describeError(error: unknown): string {
	if (!(error instanceof Error)) return oneLine(`unexpected failure: ${String(error)}`);
	const message = oneLine(error.message || error.name);
	if (isParallelGetError(error)) {
		// The library's messages name the status, range and URL; the cause's code says why a
		// network attempt failed, which the message alone ("fetch failed") does not.
		const cause = rootCause(error.cause);
		const root = cause === undefined ? undefined : oneLine(cause);
		const detail = root !== undefined && !message.includes(root) ? ` (${root})` : '';
		return `${error.code}: ${message}${detail}`;
	}
	// Other failures come from the output side (EACCES, ENOSPC, EPIPE) or from the runtime.
	const code = (error as Coded).code;
	if (typeof code === 'string' && !message.startsWith(code)) return `${code}: ${message}`;
	return error.name === 'Error' ? message : `${error.name}: ${message}`;
}
