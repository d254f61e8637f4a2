import { describe, expect, it } from 'vitest';
import { parseArgs, parseHeader, UsageError, type DownloadCommand } from '../src/cli/args.ts';
import { parseSize, SizeError } from '../src/cli/size.ts';

const url = 'https://example.com/big.tar.gz';

function download(argv: string[]): DownloadCommand {
	const command = parseArgs(argv);
	if (command.command !== 'download') throw new Error(`expected a download, got ${command.command}`);
	return command;
}

function usageError(argv: string[]): string {
	try {
		parseArgs(argv);
	} catch (error) {
		expect(error).toBeInstanceOf(UsageError);
		return (error as Error).message;
	}
	throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('parseSize - binary units, as curl and aria2 read them', () => {
	it.each([
		['8388608', 8_388_608],
		['0', 0],
		['8M', 8 * 2 ** 20],
		['8m', 8 * 2 ** 20],
		['8MiB', 8 * 2 ** 20],
		['8mib', 8 * 2 ** 20],
		['512k', 512 * 1024],
		['512K', 512 * 1024],
		['512KiB', 512 * 1024],
		['1G', 2 ** 30],
		['2GiB', 2 * 2 ** 30],
		['1.5M', 1.5 * 2 ** 20],
		['100B', 100],
		[' 4 MiB ', 4 * 2 ** 20],
	])('reads %o as %d bytes', (input, bytes) => {
		expect(parseSize(input)).toBe(bytes);
	});

	it.each([[''], ['M'], ['-1M'], ['8X'], ['8TiB'], ['1e6'], ['0x10'], ['8 M B'], ['1.5'], ['0.1k'], ['99999999999G']])('refuses %o', (input) => {
		expect(() => parseSize(input)).toThrow(SizeError);
	});

	it('refuses MB and GB as ambiguous, and says what to write instead', () => {
		expect(() => parseSize('8MB')).toThrow(/ambiguous: write M or MiB/);
		expect(() => parseSize('1gb')).toThrow(/ambiguous: write G or GiB/);
	});
});

describe('parseArgs - download command', () => {
	it('defaults: stdout, library defaults, not quiet', () => {
		expect(download([url])).toEqual({
			command: 'download',
			url,
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
		});
	});

	it('-C, --continue with -o FILE; refused without a file to continue', () => {
		expect(download([url, '-o', 'f', '-C'])).toMatchObject({ continue: true, output: 'f' });
		expect(download(['--continue', url, '-o', 'f'])).toMatchObject({ continue: true });
		expect(() => parseArgs([url, '--continue'])).toThrow(/--continue needs -o FILE/);
		expect(() => parseArgs([url, '-C', '-o', '-'])).toThrow(/--continue needs -o FILE/);
		expect(() => parseArgs([url, '--continue=yes', '-o', 'f'])).toThrow(/--continue takes no value/);
	});

	it('turns hedging off with --no-hedge', () => {
		expect(download(['--no-hedge', url])).toMatchObject({ hedge: false });
		expect(() => parseArgs(['--no-hedge=1', url])).toThrow(/--no-hedge takes no value/);
	});

	it('turns overlapping requests off with --no-overlap', () => {
		expect(download(['--no-overlap', url])).toMatchObject({ overlap: false, hedge: true });
		expect(() => parseArgs(['--no-overlap=1', url])).toThrow(/--no-overlap takes no value/);
	});

	it('reads every option, in short, long and attached forms', () => {
		const long = download(['--output', 'f.tgz', '--concurrency', '16', '--chunk-size', '4M', '--header', 'A: 1', '--retries', '2', '--no-hedge', '--no-overlap', '--quiet', '--continue', url]);
		const equals = download([url, '--output=f.tgz', '--concurrency=16', '--chunk-size=4MiB', '--header=A: 1', '--retries=2', '--no-hedge', '--no-overlap', '--quiet', '--continue']);
		const short = download(['-of.tgz', '-c16', url, '--chunk-size', '4194304', '-HA: 1', '--retries', '2', '--no-hedge', '--no-overlap', '-q', '-C']);
		for (const command of [long, equals, short]) {
			expect(command).toEqual({
				command: 'download',
				url,
				output: 'f.tgz',
				concurrency: 16,
				chunkSize: 4 * 2 ** 20,
				retries: 2,
				headers: [['A', '1']],
				hedge: false,
				overlap: false,
				integrity: undefined,
				verify: true,
				quiet: true,
				continue: true,
			});
		}
	});

	it('--integrity and --checksum join into one integrity value (the strongest is checked); --no-verify', () => {
		const hex = 'ab'.repeat(32);
		expect(download([url, '--integrity', 'sha512-x', '--checksum', `sha-256=${hex}`, '--checksum=crc32c=e3069283', '--no-verify'])).toMatchObject({
			integrity: `sha512-x sha256:${hex} crc32c:e3069283`,
			verify: false,
		});
	});

	it.each(['sha256', 'sha1=ab', 'md5=abc', 'crc32c='])('--checksum %j: a usage error naming the form', (value) => {
		expect(() => download([url, '--checksum', value])).toThrow(/--checksum expects ALG=HEX with ALG one of sha256, sha384, sha512, md5, crc32c, crc64nvme/);
	});

	it('collects repeated headers in order, and a later option wins over an earlier one', () => {
		const command = download(['-H', 'Authorization: Bearer a:b', '-H', 'X-Empty:', '-c', '2', '-c', '3', url]);
		expect(command.headers).toEqual([
			['Authorization', 'Bearer a:b'],
			['X-Empty', ''],
		]);
		expect(command.concurrency).toBe(3);
	});

	it('takes `-c auto` and `--concurrency=auto`', () => {
		expect(download([url, '-c', 'auto']).concurrency).toBe('auto');
		expect(download([url, '--concurrency=auto']).concurrency).toBe('auto');
	});

	it('keeps `-o -` (stdout, asked for), and takes arguments after `--` as positionals', () => {
		expect(download(['-o', '-', url]).output).toBe('-');
		expect(download(['--', url]).url).toBe(url);
		expect(usageError(['--', '-o'])).toMatch(/not a URL: `-o`/);
	});
});

describe('parseArgs - help and version', () => {
	it('--help and --version win over the other arguments', () => {
		expect(parseArgs(['--help'])).toEqual({ command: 'help' });
		expect(parseArgs(['-h', url, '-o', 'f'])).toEqual({ command: 'help' });
		expect(parseArgs(['--version'])).toEqual({ command: 'version' });
		expect(parseArgs(['-V', url])).toEqual({ command: 'version' });
	});
});

describe('parseArgs - usage errors name the argument', () => {
	it.each([
		[[], /missing <url>/],
		[[url, url], /one URL at a time, got 2/],
		[['ftp://example.com/f'], /only http and https/],
		[['example.com/f'], /not a URL/],
		[[url, '--bogus'], /unknown option `--bogus`/],
		[[url, '-x'], /unknown option `-x`/],
		[[url, '-o'], /-o needs a value/],
		[[url, '-o', ''], /needs a file name/],
		[[url, '-c', '0'], /-c expects a whole number from 1 to 256 or `auto`, got `0`/],
		[[url, '-c', '257'], /from 1 to 256/],
		[[url, '-c', '2.5'], /from 1 to 256 or `auto`, got `2.5`/],
		[[url, '--concurrency', 'many'], /--concurrency expects a whole number from 1 to 256 or `auto`, got `many`/],
		[[url, '-c', 'Auto'], /-c expects a whole number from 1 to 256 or `auto`, got `Auto`/],
		[[url, '--chunk-size', '8MB'], /--chunk-size: invalid size `8MB`/],
		[[url, '--chunk-size', '0'], /at least 1 byte/],
		[[url, '--retries', '-1'], /--retries expects a whole number from 0 to 1000, got `-1`/],
		[[url, '-H', 'no colon'], /'Name: value', got `no colon`/],
		[[url, '-H', 'Bad Name: x'], /'Name: value'/],
		[[url, '--quiet=yes'], /--quiet takes no value/],
		[[url, '-qq'], /-q takes no value/],
	])('%j', (argv, message) => {
		expect(usageError(argv as string[])).toMatch(message);
	});
});

describe('parseHeader - RFC 9110 field names', () => {
	it('splits at the first colon and trims the value', () => {
		expect(parseHeader('Cookie:  a=b; c=d  ')).toEqual(['Cookie', 'a=b; c=d']);
		expect(parseHeader('x-url: http://h:1/p')).toEqual(['x-url', 'http://h:1/p']);
	});
});
