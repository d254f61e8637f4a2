import { describe, expect, it } from 'vitest';
import { STEAL_MIN_BYTES } from '../../src/core/constants.ts';
import { tailShare } from '../../src/core/policies/stealing.ts';

describe('tailShare (tail stealing)', () => {
	const MiB = 1024 * 1024;

	it('leaves the busy slot and the free one ending together: half of what is left after the free one’s wait', () => {
		// 10 MiB left; the busy slot reads 2 MiB while the free one waits for its first byte.
		// The free slot takes 4 MiB: the busy one reads 2 + 4 MiB meanwhile, both end together.
		expect(tailShare(10 * MiB, 2 * MiB, 8 * MiB)).toBe(4 * MiB);
		// With no wait to speak of, it is the back half.
		expect(tailShare(10 * MiB, 0, 8 * MiB)).toBe(5 * MiB);
	});

	it('takes no more than the last chunk has past its frontier', () => {
		expect(tailShare(10 * MiB, 2 * MiB, 3 * MiB)).toBe(3 * MiB);
	});

	it('takes nothing that ends the download less than half a time to first byte sooner, or under the minimum', () => {
		// A 4 MiB lead: the 3 MiB share ends it 3/4 of a wait sooner. A 6 MiB lead: 2 MiB, 1/3 of one.
		expect(tailShare(10 * MiB, 4 * MiB, 8 * MiB)).toBe(3 * MiB);
		expect(tailShare(10 * MiB, 6 * MiB, 8 * MiB)).toBe(0);
		expect(tailShare(10 * MiB, 8 * MiB, 8 * MiB)).toBe(0);
		expect(tailShare(2 * STEAL_MIN_BYTES, 0, MiB)).toBe(STEAL_MIN_BYTES);
		expect(tailShare(2 * STEAL_MIN_BYTES - 2, 0, MiB)).toBe(0);
	});

	it('takes nothing a slot reads in less than `worth` (a fast link: the saving is not worth a request)', () => {
		expect(tailShare(10 * MiB, 0, 8 * MiB, 5 * MiB)).toBe(5 * MiB);
		expect(tailShare(10 * MiB, 0, 8 * MiB, 5 * MiB + 1)).toBe(0);
		expect(tailShare(10 * MiB, 2 * MiB, 8 * MiB, 4 * MiB + 1)).toBe(0);
	});
});
