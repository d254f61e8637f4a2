/**
 * Byte sizes as people type them on a command line: `8388608`, `8M`, `8MiB`, `512k`, `1.5G`.
 *
 * Units are binary (K = 1024, M = 1024², G = 1024³) whatever their spelling, as in curl
 * (`--limit-rate 8M`) and aria2 (`--min-split-size=8M`), which is what users of a download
 * tool expect. `MB`/`GB` are refused rather than guessed at: they mean powers of ten to some
 * people and powers of two to others.
 */

const multipliers: Record<string, number> = {
	'': 1,
	b: 1,
	k: 1024,
	kib: 1024,
	m: 1024 ** 2,
	mib: 1024 ** 2,
	g: 1024 ** 3,
	gib: 1024 ** 3,
};

const pattern = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** A size that could not be read; the message says what is accepted. */
export class SizeError extends Error {
	override name = 'SizeError';
	readonly input: string;

	constructor(input: string, reason: string) {
		super(`invalid size \`${input}\`: ${reason}`);
		this.input = input;
	}
}

/**
 * Parses a size into a whole number of bytes.
 *
 * @example
 * ```ts
 * parseSize('8M');   // 8388608
 * parseSize('8MiB'); // 8388608
 * parseSize('1.5k'); // 1536
 * ```
 * @throws {SizeError} on anything else, and on fractions of a byte or sizes past 2^53.
 */
export function parseSize(input: string): number {
	const match = pattern.exec(input.trim());
	if (!match) throw new SizeError(input, 'expected a number with an optional unit (k, M, G, KiB, MiB, GiB)');
	const [, digits = '', unit = ''] = match;
	const multiplier = multipliers[unit.toLowerCase()];
	if (multiplier === undefined) {
		const hint = /^[kmg]b$/i.test(unit) ? ` (ambiguous: write ${unit[0]?.toUpperCase()} or ${unit[0]?.toUpperCase()}iB for powers of 1024, or a number of bytes)` : '';
		throw new SizeError(input, `unknown unit \`${unit}\`${hint}`);
	}
	const bytes = Number(digits) * multiplier;
	if (!Number.isInteger(bytes)) throw new SizeError(input, 'not a whole number of bytes');
	if (!Number.isSafeInteger(bytes)) throw new SizeError(input, 'too large');
	return bytes;
}
