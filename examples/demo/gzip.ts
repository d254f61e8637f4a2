/**
 * One gzip member (RFC 1952) built from deflate segments compressed separately, each at its own
 * level, as pigz does: every segment but the last ends with a sync flush (an empty stored block,
 * byte-aligned, not final) and refers to no byte before it, so the segments concatenate into one
 * valid deflate stream. Random data is stored (level 0) and costs no CPU; text gets level 1.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';

// ID1 ID2, CM = deflate, no flags, MTIME 0 (none), XFL 0, OS 255 (unknown).
const HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

export class GzipBuilder {
	private readonly parts: Uint8Array[] = [HEADER];
	private crc = 0;
	private size = 0;

	/** Appends `data`, deflated at `level` (0 stores it). */
	add(data: Uint8Array, level: number): void {
		this.parts.push(deflateRawSync(data, { level, finishFlush: constants.Z_SYNC_FLUSH }));
		this.crc = crc32(data, this.crc);
		this.size += data.byteLength;
	}

	/** The whole `.gz`: a final empty block ends the deflate stream; CRC-32 and size follow. */
	finish(): Uint8Array {
		const trailer = new DataView(new ArrayBuffer(8));
		trailer.setUint32(0, this.crc >>> 0, true);
		// ISIZE is the size modulo 2^32 (RFC 1952 §2.3.1).
		trailer.setUint32(4, this.size % 2 ** 32, true);
		return Buffer.concat([...this.parts, deflateRawSync(new Uint8Array(0)), new Uint8Array(trailer.buffer)]);
	}
}
