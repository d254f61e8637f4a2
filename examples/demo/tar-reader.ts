/**
 * Lists a ustar archive as its bytes stream in, without holding more than one header: each
 * file's name, size and SHA-256. The demo pipes the download through gunzip into it, so the
 * listing is ready the moment the last byte arrives.
 */
import { createHash, type Hash } from 'node:crypto';
import { BLOCK } from './tar-writer.ts';

export interface TarEntry {
	name: string;
	size: number;
	sha256: string;
}

/** A header that is not a ustar header (wrong checksum): the bytes are not the archive. */
export class TarFormatError extends Error {
	override name = 'TarFormatError';
}

/** The file whose content is being read. */
interface OpenEntry {
	name: string;
	size: number;
	left: number;
	hash: Hash;
}

const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, length: number): string {
	const bytes = block.subarray(offset, offset + length);
	const end = bytes.indexOf(0);
	return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function number(block: Uint8Array, offset: number, length: number): number {
	return Number.parseInt(text(block, offset, length).trim() || '0', 8);
}

function checksumOk(block: Uint8Array): boolean {
	let sum = 0;
	for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : (block[index] as number);
	return sum === number(block, 148, 8);
}

export class TarLister {
	readonly entries: TarEntry[] = [];
	/** Write the archive's bytes here; it closes once the end-of-archive blocks were seen. */
	readonly writable: WritableStream<Uint8Array>;

	private readonly header = new Uint8Array(BLOCK);
	private headerFill = 0;
	private current: OpenEntry | undefined;
	private skip = 0;
	private ended = false;
	private readonly onEntry: ((entry: TarEntry) => void) | undefined;

	constructor(onEntry?: (entry: TarEntry) => void) {
		this.onEntry = onEntry;
		this.writable = new WritableStream<Uint8Array>({
			write: (bytes) => this.write(bytes),
			close: () => {
				if (!this.ended) throw new TarFormatError('the archive ended before its end-of-archive blocks');
			},
		});
	}

	private write(bytes: Uint8Array): void {
		let offset = 0;
		while (offset < bytes.byteLength && !this.ended) {
			if (this.current) {
				const take = Math.min(this.current.left, bytes.byteLength - offset);
				this.current.hash.update(bytes.subarray(offset, offset + take));
				this.current.left -= take;
				offset += take;
				if (this.current.left === 0) this.endEntry();
				continue;
			}
			if (this.skip > 0) {
				const take = Math.min(this.skip, bytes.byteLength - offset);
				this.skip -= take;
				offset += take;
				continue;
			}
			const take = Math.min(BLOCK - this.headerFill, bytes.byteLength - offset);
			this.header.set(bytes.subarray(offset, offset + take), this.headerFill);
			this.headerFill += take;
			offset += take;
			if (this.headerFill === BLOCK) {
				this.headerFill = 0;
				this.onHeader();
			}
		}
	}

	private onHeader(): void {
		const block = this.header;
		// A zero block marks the end (the second one that follows is not needed to know it).
		if (block.every((byte) => byte === 0)) {
			this.ended = true;
			return;
		}
		if (!checksumOk(block)) throw new TarFormatError(`bad header checksum after ${this.entries.length} entries`);
		const prefix = text(block, 345, 155);
		const name = prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100);
		const size = number(block, 124, 12);
		const type = String.fromCharCode(block[156] as number);
		if (type === '0' || type === '\0') {
			this.current = { name, size, left: size, hash: createHash('sha256') };
			if (size === 0) this.endEntry();
		} else {
			// Directories, links and extended headers: their data (if any) is skipped, not listed.
			this.skip = size + ((BLOCK - (size % BLOCK)) % BLOCK);
		}
	}

	private endEntry(): void {
		const { name, size, hash } = this.current as OpenEntry;
		const entry = { name, size, sha256: hash.digest('hex') };
		this.entries.push(entry);
		this.onEntry?.(entry);
		this.current = undefined;
		this.skip = (BLOCK - (size % BLOCK)) % BLOCK;
	}
}
