/**
 * A minimal POSIX ustar writer (IEEE Std 1003.1, "pax" chapter, ustar format): regular files
 * only, names up to 100 bytes. Enough to build a real archive that `tar -x` and the reader next to
 * this file understand.
 */

export const BLOCK = 512;

export interface TarFile {
	name: string;
	size: number;
	/** Produces the file's bytes, `size` in all, in pieces. */
	content: () => Iterable<Uint8Array>;
}

const encoder = new TextEncoder();

function field(header: Uint8Array, offset: number, length: number, value: string): void {
	const bytes = encoder.encode(value);
	if (bytes.length > length) throw new RangeError(`tar header field at ${offset} holds ${length} bytes, got ${JSON.stringify(value)}`);
	header.set(bytes, offset);
}

/** Octal, zero-padded to `length - 1` digits and NUL-terminated, as ustar numbers are. */
function octal(header: Uint8Array, offset: number, length: number, value: number): void {
	field(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

export function tarHeader(name: string, size: number, mtime = 1_700_000_000): Uint8Array {
	const header = new Uint8Array(BLOCK);
	field(header, 0, 100, name);
	octal(header, 100, 8, 0o644);
	octal(header, 108, 8, 0);
	octal(header, 116, 8, 0);
	octal(header, 124, 12, size);
	octal(header, 136, 12, mtime);
	header[156] = 0x30; // typeflag '0': regular file
	field(header, 257, 6, 'ustar\0');
	field(header, 263, 2, '00');
	field(header, 265, 32, 'demo');
	field(header, 297, 32, 'demo');
	// The checksum is computed with its own field taken as eight spaces.
	header.fill(0x20, 148, 156);
	let sum = 0;
	for (const byte of header) sum += byte;
	field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
	return header;
}

/** Zero bytes that bring `size` up to a whole number of blocks. */
export function tarPadding(size: number): Uint8Array {
	return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** One file's part of an archive: header, content, padding. */
export function* tarFile(file: TarFile): Generator<Uint8Array> {
	yield tarHeader(file.name, file.size);
	let written = 0;
	for (const piece of file.content()) {
		written += piece.byteLength;
		yield piece;
	}
	if (written !== file.size) throw new Error(`${file.name}: ${written} bytes written, ${file.size} declared`);
	const padding = tarPadding(file.size);
	if (padding.byteLength > 0) yield padding;
}

/** Two zero blocks end an archive. */
export function tarEnd(): Uint8Array {
	return new Uint8Array(2 * BLOCK);
}

/** A whole archive, piece by piece. */
export function* tar(files: Iterable<TarFile>): Generator<Uint8Array> {
	for (const file of files) yield* tarFile(file);
	yield tarEnd();
}
