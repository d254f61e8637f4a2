/**
 * Command-line parsing, kept free of I/O so that it can be tested as a pure function: argv in,
 * a command or a `UsageError` out.
 */
import { MAX_CONCURRENCY } from '../core/constants.ts';
import { parseSize, SizeError } from './size.ts';

/** One line, printed with every argument error; `--help` prints `usage`. */
export const synopsis = "Usage: parallel-get-stream <url> [-o FILE] [-c N|auto] [--chunk-size SIZE] [-H 'Name: value']... [--retries N] [--no-hedge] [--no-overlap] [-q]";

export const usage = `Usage: parallel-get-stream <url> [options]

Downloads <url> over parallel HTTP Range requests, in order, to a file or to stdout.

Options:
  -o, --output FILE      write to FILE (through FILE.part, renamed when complete);
                         without it, or with \`-o -\`, write to stdout
  -c, --concurrency N    connections reading at once, 1-${MAX_CONCURRENCY} (default 8), or auto:
                         as many as add speed, within the memory budget (128 MiB)
      --chunk-size SIZE  chunk size (default 8MiB), one or two per request; k, M, G, KiB, MiB
                         and GiB are powers of 1024, so 8M = 8MiB = 8388608
  -H, --header 'Name: value'
                         extra request header, repeatable (e.g. Authorization)
      --retries N        attempts per chunk after a fault before giving up (default 5)
      --no-hedge         never ask for a stalled chunk's rest on a second request
      --no-overlap       never send a connection's next request before its current one ends
  -q, --quiet            no progress bar and no summary
  -h, --help             show this help
  -V, --version          show the version

Exit status: 0 done, 1 download failed, 2 bad arguments, 130 interrupted (SIGINT),
143 terminated (SIGTERM).

Examples:
  parallel-get-stream https://example.com/big.iso -o big.iso
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
	quiet: boolean;
}

export type Command = { command: 'help' } | { command: 'version' } | DownloadCommand;

type OptionKey = 'output' | 'concurrency' | 'chunkSize' | 'header' | 'retries' | 'noHedge' | 'noOverlap' | 'quiet' | 'help' | 'version';

interface OptionSpec {
	key: OptionKey;
	takesValue: boolean;
}

const options = new Map<string, OptionSpec>([
	['-o', { key: 'output', takesValue: true }],
	['--output', { key: 'output', takesValue: true }],
	['-c', { key: 'concurrency', takesValue: true }],
	['--concurrency', { key: 'concurrency', takesValue: true }],
	['--chunk-size', { key: 'chunkSize', takesValue: true }],
	['-H', { key: 'header', takesValue: true }],
	['--header', { key: 'header', takesValue: true }],
	['--retries', { key: 'retries', takesValue: true }],
	['--no-hedge', { key: 'noHedge', takesValue: false }],
	['--no-overlap', { key: 'noOverlap', takesValue: false }],
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
		quiet: false,
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
			else if (spec.key === 'noHedge') download.hedge = false;
			else if (spec.key === 'noOverlap') download.overlap = false;
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
		}
	}

	// As in most tools, --help and --version win over the other (well-formed) arguments.
	if (help) return { command: 'help' };
	if (version) return { command: 'version' };
	if (positionals.length === 0) throw new UsageError('missing <url>');
	if (positionals.length > 1) throw new UsageError(`one URL at a time, got ${positionals.length}: ${positionals.join(' ')}`);
	download.url = parseUrl(positionals[0] as string);
	return download;
}
