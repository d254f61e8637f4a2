/**
 * The CLI's `FILE.part` and its sidecar (`--continue`, issue 15), in process: the sidecar claims
 * only bytes already written to the part (whatever the stream has handed out beyond them), a
 * failure keeps the pair consistent, a continued part is cut back to its checkpoint, and only a
 * commit makes FILE appear, by a rename.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOutput } from '../src/cli/output.ts';
import { findCheckpoint } from '../src/cli/resume.ts';

let dir: string;
beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), 'parallel-get-stream-part-'));
});
afterAll(() => {
	rmSync(dir, { recursive: true, force: true });
});

const size = 10_000;
/** What the stream would say: far ahead of what reached the disk. */
const ahead = () => ({ url: 'http://127.0.0.1/x', offset: size, size, etag: '"x"' });

function sidecarOffset(file: string): number | undefined {
	if (!existsSync(`${file}.part.json`)) return undefined;
	return (JSON.parse(readFileSync(`${file}.part.json`, 'utf8')) as { checkpoint: { offset: number } }).checkpoint.offset;
}

function write(writable: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
	return new Promise((resolve, reject) => writable.write(bytes, (error) => (error ? reject(error) : resolve())));
}

describe('FILE.part and FILE.part.json', () => {
	it('the sidecar never claims a byte not yet written to FILE.part, whatever the stream handed out', async () => {
		const file = join(dir, 'a.bin');
		const output = await fileOutput(file, { checkpoint: ahead, flushBytes: 1000, flushMs: 60_000 });
		expect(sidecarOffset(file)).toBe(0);
		const claims: number[] = [];
		for (let i = 0; i < 20; i++) {
			await write(output.writable, new Uint8Array(300).fill(i));
			const claimed = sidecarOffset(file) as number;
			expect(claimed).toBeLessThanOrEqual(statSync(`${file}.part`).size);
			claims.push(claimed);
		}
		// Every 1000 bytes or so, not at every write.
		expect(new Set(claims).size).toBeGreaterThan(3);
		expect(new Set(claims).size).toBeLessThan(20);
		expect(await output.abandon()).toBe(6000);
		expect(sidecarOffset(file)).toBe(6000);
		expect(statSync(`${file}.part`).size).toBe(6000);
		expect(readdirSync(dir).filter((name) => name.startsWith('a.bin')).sort()).toEqual(['a.bin.part', 'a.bin.part.json']);
	});

	it('continued: the bytes beyond the checkpoint are cut off, the rest written after it, and FILE appears by a rename', async () => {
		const file = join(dir, 'b.bin');
		writeFileSync(`${file}.part`, new Uint8Array(900).fill(7));
		writeFileSync(`${file}.part.json`, JSON.stringify({ version: 1, checkpoint: { ...ahead(), offset: 500 } }));
		expect(await findCheckpoint(file)).toMatchObject({ offset: 500 });
		const output = await fileOutput(file, { from: 500, checkpoint: ahead, flushBytes: 1000 });
		expect(statSync(`${file}.part`).size).toBe(500);
		await write(output.writable, new Uint8Array(100).fill(9));
		await new Promise<void>((resolve) => output.writable.end(resolve));
		expect(existsSync(file)).toBe(false);
		await output.commit();
		const bytes = readFileSync(file);
		expect(bytes.byteLength).toBe(600);
		expect(bytes.subarray(0, 500).every((byte) => byte === 7)).toBe(true);
		expect(bytes.subarray(500).every((byte) => byte === 9)).toBe(true);
		expect(readdirSync(dir).filter((name) => name.startsWith('b.bin'))).toEqual(['b.bin']);
	});

	it('a download that cannot be continued keeps nothing: no sidecar, and the part removed on failure', async () => {
		const file = join(dir, 'c.bin');
		writeFileSync(`${file}.part.json`, '{"version":1,"checkpoint":{"stale":true}}');
		const output = await fileOutput(file, { checkpoint: () => undefined, flushBytes: 10 });
		// A new run starts over: an earlier sidecar never describes its bytes.
		expect(existsSync(`${file}.part.json`)).toBe(false);
		await write(output.writable, new Uint8Array(100));
		expect(existsSync(`${file}.part.json`)).toBe(false);
		expect(await output.abandon()).toBeUndefined();
		expect(readdirSync(dir).filter((name) => name.startsWith('c.bin'))).toEqual([]);
	});

	it('abandon(false) (the object changed) removes a part that could otherwise be continued', async () => {
		const file = join(dir, 'd.bin');
		const output = await fileOutput(file, { checkpoint: ahead, flushBytes: 10 });
		await write(output.writable, new Uint8Array(100));
		expect(await output.abandon(false)).toBeUndefined();
		expect(readdirSync(dir).filter((name) => name.startsWith('d.bin'))).toEqual([]);
	});
});
