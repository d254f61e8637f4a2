import type { ByteRange } from '../errors/parallel-get-error.ts';

/**
 * `Range: bytes=start-end`, or `bytes=start-` when `openEnded` (RFC 9110 §14.1.2): the two forms
 * that are CORS-safelisted (Fetch §2.2.2).
 */
export function rangeHeader(range: ByteRange, openEnded = false): string {
	return openEnded ? `bytes=${range.start}-` : `bytes=${range.start}-${range.end}`;
}

export interface ContentRange {
	/** First and last byte (inclusive); undefined for the unsatisfied form `bytes * /length`. */
	range: ByteRange | undefined;
	/** Complete length; undefined for `/*` (unknown). */
	size: number | undefined;
}

const satisfied = /^bytes[ \t]+(\d+)-(\d+)\/(\d+|\*)$/i;
const unsatisfied = /^bytes[ \t]+\*\/(\d+)$/i;

/**
 * Parses `Content-Range` (RFC 9110 §14.4). Returns undefined when the value is not one of the two
 * single-range forms or is self-contradictory (last < first, or last >= complete length).
 */
export function parseContentRange(value: string | null | undefined): ContentRange | undefined {
	if (value == null) return undefined;
	const text = value.trim();
	const match = satisfied.exec(text);
	if (match) {
		const start = Number(match[1]);
		const end = Number(match[2]);
		const size = match[3] === '*' ? undefined : Number(match[3]);
		if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
		if (size !== undefined && (!Number.isSafeInteger(size) || end >= size)) return undefined;
		return { range: { start, end }, size };
	}
	const unsat = unsatisfied.exec(text);
	if (unsat) {
		const size = Number(unsat[1]);
		return Number.isSafeInteger(size) ? { range: undefined, size } : undefined;
	}
	return undefined;
}

/** A non-negative integer `Content-Length`, or undefined when absent or malformed. */
export function parseContentLength(value: string | null): number | undefined {
	if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
	const length = Number(value);
	return Number.isSafeInteger(length) ? length : undefined;
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds or an HTTP-date.
 * Undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (value === null) return undefined;
	const text = value.trim();
	if (/^\d+$/.test(text)) return Number(text) * 1000;
	const date = Date.parse(text);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
