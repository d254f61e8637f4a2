/**
 * Command-line parsing, kept free of I/O so that it can be tested as a pure function: argv in,
 * a command or a `UsageError` out.
 */
import { MAX_CONCURRENCY } from '../core/constants.ts';
import { parseSize, SizeError } from './size.ts';

/** One line, printed with every argument error; `--help` prints `usage`. */
export const synopsis = "Usage: parallel-get-stream <url> [-o FILE] [-C] [-c N|auto] [--chunk-size SIZE] [-H 'Name: value']... [--retries N] [--no-hedge] [--no-overlap] [--integrity SRI] [--checksum ALG=HEX] [--no-verify] [-q]";

export const usage = `Usage: parallel-get-stream <url> [options]

Downloads <url> over parallel HTTP Range requests, in order, to a file or to stdout.

Options:
  -o, --output FILE      write to FILE (through FILE.part, renamed when complete);
                         without it, or with \`-o -\`, write to stdout
  -C, --continue         with -o FILE, continue FILE.part from the checkpoint kept beside it
                         (FILE.part.json); a changed object is refused, never spliced
  -c, --concurrency N    connections reading at once, 1-${MAX_CONCURRENCY} (default 8), or auto:
                         as many as add speed, within the memory budget (128 MiB)
      --chunk-size SIZE  chunk size (default 8MiB), one or two per request; k, M, G, KiB, MiB
                         and GiB are powers of 1024, so 8M = 8MiB = 8388608
  -H, --header 'Name: value'
                         extra request header, repeatable (e.g. Authorization)
      --retries N        attempts per chunk after a fault before giving up (default 5)
      --no-hedge         never ask for a stalled chunk's rest on a second request
      --no-overlap       never send a connection's next request before its current one ends
      --integrity SRI    the digest the bytes must have, as in HTML's integrity attribute
                         (sha256-<base64>, sha384-, sha512-; md5-, crc32c-, crc64nvme-)
      --checksum ALG=HEX the same in hex, as sha256sum prints it: sha256, sha384, sha512,
                         md5, crc32c, crc64nvme (e.g. --checksum sha256=9f86d0...)
      --no-verify        ignore the digests the server declares (Repr-Digest, x-goog-hash, ...)
  -q, --quiet            no progress bar and no summary
  -h, --help             show this help
  -V, --version          show the version

Exit status: 0 done, 1 download failed, 2 bad arguments, 130 interrupted (SIGINT),
143 terminated (SIGTERM). After a failure or an interrupt, FILE.part and FILE.part.json are
kept when the download can be continued: run again with --continue.

Examples:
  parallel-get-stream https://example.com/big.iso -o big.iso
  parallel-get-stream https://example.com/big.iso -o big.iso --continue
  parallel-get-stream https://example.com/src.tar.gz | tar -xz
  parallel-get-stream https://example.com/f -c 16 --chunk-size 4M -H 'Authorization: Bearer T'
  parallel-get-stream https://example.com/big.iso -o big.iso -c auto
`;

/** Arguments that make no command; the CLI prints the message and the usage and exits 2. */
export class UsageError extends Error {
	override name = 'UsageError';
}

export interface DownloadCommand {
	command: 'download';
	url: string;
	/** A file path; `-` (asked for) or undefined (no `-o`) means stdout. */
	output: string | undefined;
	/** A number, `'auto'`, or undefined (the library's default). */
	concurrency: number | 'auto' | undefined;
	chunkSize: number | undefined;
	retries: number | undefined;
	/** Name and value pairs, in the order given. */
	headers: Array<[string, string]>;
	/** False with `--no-hedge`. */
	hedge: boolean;
	/** False with `--no-overlap`. */
	overlap: boolean;
	/** `--integrity` and `--checksum` values, as the library's `integrity` option (space-separated). */
	integrity: string | undefined;
	/** False with `--no-verify`. */
	verify: boolean;
	quiet: boolean;
	/** `--continue`: go on from `FILE.part` and its checkpoint. */
	continue: boolean;
}

export type Command = { command: 'help' } | { command: 'version' } | DownloadCommand;

type OptionKey =
	| 'continue'
	| 'output'
	| 'concurrency'
	| 'chunkSize'
	| 'header'
	| 'retries'
	| 'noHedge'
	| 'noOverlap'
	| 'integrity'
	| 'checksum'
	| 'noVerify'
	| 'quiet'
	| 'help'
	| 'version';

interface OptionSpec {
	key: OptionKey;
	takesValue: boolean;
}

const options = new Map<string, OptionSpec>([
	['-o', { key: 'output', takesValue: true }],
	['--output', { key: 'output', takesValue: true }],
	['-C', { key: 'continue', takesValue: false }],
	['--continue', { key: 'continue', takesValue: false }],
	['-c', { key: 'concurrency', takesValue: true }],
	['--concurrency', { key: 'concurrency', takesValue: true }],
	['--chunk-size', { key: 'chunkSize', takesValue: true }],
	['-H', { key: 'header', takesValue: true }],
	['--header', { key: 'header', takesValue: true }],
	['--retries', { key: 'retries', takesValue: true }],
	['--no-hedge', { key: 'noHedge', takesValue: false }],
	['--no-overlap', { key: 'noOverlap', takesValue: false }],
	['--integrity', { key: 'integrity', takesValue: true }],
	['--checksum', { key: 'checksum', takesValue: true }],
	['--no-verify', { key: 'noVerify', takesValue: false }],
	['-q', { key: 'quiet', takesValue: false }],
	['--quiet', { key: 'quiet', takesValue: false }],
	['-h', { key: 'help', takesValue: false }],
	['--help', { key: 'help', takesValue: false }],
	['-V', { key: 'version', takesValue: false }],
	['--version', { key: 'version', takesValue: false }],
]);

// RFC 9110 §5.1 and §5.6.2: a field name is a token.
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function integer(name: string, value: string, min: number, max: number, or = ''): number {
	const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
	if (!Number.isSafeInteger(number) || number < min || number > max) {
		throw new UsageError(`${name} expects a whole number from ${min} to ${max}${or}, got \`${value}\``);
	}
	return number;
}

export function parseHeader(value: string): [string, string] {
	const colon = value.indexOf(':');
	const name = colon === -1 ? '' : value.slice(0, colon).trim();
	if (!token.test(name)) throw new UsageError(`--header expects 'Name: value', got \`${value}\``);
	return [name, value.slice(colon + 1).trim()];
}

const checksumAlgorithms = ['sha256', 'sha384', 'sha512', 'md5', 'crc32c', 'crc64nvme'];

/** `sha256=<hex>` (also `sha-256=`, as aria2 writes it) as the library's `sha256:<hex>`. */
export function parseChecksum(value: string): string {
	const equals = value.indexOf('=');
	const algorithm = value.slice(0, equals).toLowerCase().replace(/^sha-/, 'sha');
	const hex = value.slice(equals + 1).trim();
	if (equals === -1 || !checksumAlgorithms.includes(algorithm) || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
		throw new UsageError(`--checksum expects ALG=HEX with ALG one of ${checksumAlgorithms.join(', ')}, got \`${value}\``);
	}
	return `${algorithm}:${hex}`;
}

function parseUrl(value: string): string {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new UsageError(`not a URL: \`${value}\``);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new UsageError(`only http and https URLs can be downloaded, got \`${url.protocol}\``);
	}
	return value;
}

/** Splits `--name=value`, `-cVALUE` and `--name value` forms into a name and an inline value. */
function split(arg: string): { name: string; inline: string | undefined } {
	if (arg.startsWith('--')) {
		const equals = arg.indexOf('=');
		return equals === -1 ? { name: arg, inline: undefined } : { name: arg.slice(0, equals), inline: arg.slice(equals + 1) };
	}
	return { name: arg.slice(0, 2), inline: arg.length > 2 ? arg.slice(2) : undefined };
}

/**
 * Parses the arguments after the program name.
 *
 * @example
 * ```ts
 * parseArgs(['https://example.com/f', '-o', 'f', '--chunk-size', '4M']);
 * // { command: 'download', url: 'https://example.com/f', output: 'f', chunkSize: 4194304, ... }
 * ```
 * @throws {UsageError} for unknown options, missing or malformed values, and zero or several URLs.
 */
export function parseArgs(argv: readonly string[]): Command {
	const positionals: string[] = [];
	const download: DownloadCommand = {
		command: 'download',
		url: '',
		output: undefined,
		concurrency: undefined,
		chunkSize: undefined,
		retries: undefined,
		headers: [],
		hedge: true,
		overlap: true,
		integrity: undefined,
		verify: true,
		quiet: false,
		continue: false,
	};
	let help = false;
	let version = false;

	for (let index = 0; index < argv.length; index++) {
		const arg = argv[index] as string;
		if (arg === '--') {
			positionals.push(...argv.slice(index + 1));
			break;
		}
		if (!arg.startsWith('-') || arg === '-') {
			positionals.push(arg);
			continue;
		}
		const { name, inline } = split(arg);
		const spec = options.get(name);
		if (!spec) throw new UsageError(`unknown option \`${arg}\``);
		if (!spec.takesValue) {
			if (inline !== undefined) throw new UsageError(`${name} takes no value, got \`${arg}\``);
			if (spec.key === 'quiet') download.quiet = true;
			else if (spec.key === 'continue') download.continue = true;
			else if (spec.key === 'noHedge') download.hedge = false;
			else if (spec.key === 'noOverlap') download.overlap = false;
			else if (spec.key === 'noVerify') download.verify = false;
			else if (spec.key === 'help') help = true;
			else version = true;
			continue;
		}
		let value = inline;
		if (value === undefined) {
			if (index + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
			value = argv[++index] as string;
		}
		switch (spec.key) {
			case 'output':
				if (value === '') throw new UsageError(`${name} needs a file name (or \`-\` for stdout)`);
				download.output = value;
				break;
			case 'concurrency':
				download.concurrency = value === 'auto' ? 'auto' : integer(name, value, 1, MAX_CONCURRENCY, ' or `auto`');
				break;
			case 'retries':
				download.retries = integer(name, value, 0, 1000);
				break;
			case 'chunkSize':
				try {
					download.chunkSize = parseSize(value);
				} catch (error) {
					if (error instanceof SizeError) throw new UsageError(`${name}: ${error.message}`, { cause: error });
					throw error;
				}
				if (download.chunkSize < 1) throw new UsageError(`${name} must be at least 1 byte, got \`${value}\``);
				break;
			case 'header':
				download.headers.push(parseHeader(value));
				break;
			case 'integrity':
			case 'checksum': {
				const digest = spec.key === 'checksum' ? parseChecksum(value) : value.trim();
				if (digest === '') throw new UsageError(`${name} needs a digest`);
				download.integrity = download.integrity === undefined ? digest : `${download.integrity} ${digest}`;
				break;
			}
		}
	}

	// As in most tools, --help and --version win over the other (well-formed) arguments.
	if (help) return { command: 'help' };
	if (version) return { command: 'version' };
	if (positionals.length === 0) throw new UsageError('missing <url>');
	if (positionals.length > 1) throw new UsageError(`one URL at a time, got ${positionals.length}: ${positionals.join(' ')}`);
	download.url = parseUrl(positionals[0] as string);
	if (download.continue && (download.output === undefined || download.output === '-')) {
		throw new UsageError('--continue needs -o FILE: it continues FILE.part');
	}
	return download;
}
