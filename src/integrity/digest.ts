import { describeValue } from '../utils/describe-value.ts';

/**
 * Digests of a whole object: what a caller passes as `integrity` and what a server declares, as
 * one shape. Parsing of the option only (at construction, in the base bundle); the hash code and
 * the parsing of the server's headers are loaded when something is to be verified (`verifier.ts`).
 */

/** Algorithms that can be verified, strongest first: of several, the first present is checked (as SRI does). */
export const ALGORITHMS = ['sha512', 'sha384', 'sha256', 'md5', 'crc64nvme', 'crc32c'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const LENGTHS: Record<Algorithm, number> = { sha512: 64, sha384: 48, sha256: 32, md5: 16, crc64nvme: 8, crc32c: 4 };

/** A digest the bytes must have. */
export interface ExpectedDigest {
	readonly algorithm: Algorithm;
	/** Any one of these matches (SRI allows several values of one algorithm). */
	readonly values: readonly Uint8Array[];
	/** How the values were written, so that an error shows both digests the same way. */
	readonly encoding: 'base64' | 'hex';
	/** `integrity` (the caller's option) or the name of the response header it came from. */
	readonly source: string;
}

export function isAlgorithm(name: string): name is Algorithm {
	return (ALGORITHMS as readonly string[]).includes(name);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** Standard base64 (padding optional), or undefined when `text` is not that. */
export function fromBase64(text: string): Uint8Array | undefined {
	if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
	try {
		const binary = atob(text);
		const bytes = new Uint8Array(binary.length);
		for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
		return bytes;
	} catch {
		return undefined;
	}
}

export function fromHex(text: string): Uint8Array | undefined {
	if (!HEX.test(text)) return undefined;
	const bytes = new Uint8Array(text.length / 2);
	for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
	return bytes;
}

export function encode(bytes: Uint8Array, encoding: 'base64' | 'hex'): string {
	if (encoding === 'hex') return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
	return btoa(String.fromCharCode(...bytes));
}

/** `value` when it has the length of an `algorithm` digest. */
export function ofLength(algorithm: Algorithm, value: Uint8Array | undefined): Uint8Array | undefined {
	return value !== undefined && value.byteLength === LENGTHS[algorithm] ? value : undefined;
}

/** The strongest of several digests: the algorithm first in `ALGORITHMS`, with every value given for it. */
export function strongest(digests: readonly ExpectedDigest[]): ExpectedDigest | undefined {
	for (const algorithm of ALGORITHMS) {
		const of = digests.filter((digest) => digest.algorithm === algorithm);
		const first = of[0];
		if (first) return { ...first, values: of.flatMap((digest) => digest.values) };
	}
	return undefined;
}

const GRAMMAR = '`<algorithm>-<base64>` (SRI) or `<algorithm>:<hex>`, several separated by spaces, with the algorithm one of sha256, sha384, sha512, md5, crc32c, crc64nvme';

/**
 * The `integrity` option: the Subresource Integrity grammar (`sha256-<base64>`, `sha384`,
 * `sha512`, several separated by whitespace, the strongest checked), also `md5`, `crc32c` and
 * `crc64nvme` with their base64 value (as object stores publish them), and hex after a colon
 * (`sha256:<hex>`, as `sha256sum` prints it). SRI options (`?...`) are ignored. Anything else throws.
 */
export function parseIntegrity(value: unknown): ExpectedDigest | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== 'string') throw new TypeError(`Expected \`integrity\` to be a string: ${GRAMMAR}; got ${describeValue(value)}`);
	const tokens = value.trim().split(/\s+/).filter(Boolean);
	if (tokens.length === 0) throw new TypeError(`Expected \`integrity\` to be ${GRAMMAR}; got ${describeValue(value)}`);
	const digests: ExpectedDigest[] = [];
	for (const token of tokens) {
		const match = /^([a-z0-9]+)([-:])([^?]*)(?:\?.*)?$/i.exec(token);
		const algorithm = match?.[1]?.toLowerCase() ?? '';
		const hex = match?.[2] === ':';
		const text = match?.[3] ?? '';
		const bytes = isAlgorithm(algorithm) ? ofLength(algorithm, hex ? fromHex(text) : fromBase64(text)) : undefined;
		if (!bytes) {
			throw new TypeError(`Expected \`integrity\` to be ${GRAMMAR}, of the algorithm's length; got ${describeValue(token)}${tokens.length > 1 ? ` in ${describeValue(value)}` : ''}`);
		}
		digests.push({ algorithm: algorithm as Algorithm, values: [bytes], encoding: hex ? 'hex' : 'base64', source: 'integrity' });
	}
	return strongest(digests);
}
