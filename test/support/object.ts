/**
 * Deterministic generated test objects.
 *
 * Layout: the object is a sequence of 16-byte cells. The cell at absolute
 * offset `o` (a multiple of 16) holds
 *   bytes 0..7  : `o` as a little-endian uint64, XOR-ed with a 64-bit mask
 *                 derived from the seed;
 *   bytes 8..15 : 8 pseudo-random bytes taken from a per-seed table of
 *                 TABLE_CELLS entries, indexed by (o / 16) % TABLE_CELLS.
 * The last cell is truncated when the size is not a multiple of 16.
 *
 * Because every cell carries its own offset, any duplicated, missing,
 * reordered or shifted span changes the content (and therefore the hash),
 * and `decodeCellOffset` can tell where a misplaced cell came from.
 *
 * Generation is fast: a 64 KiB template (the random halves) is copied with
 * `Uint8Array.set` and only the offset words are patched via a Uint32Array.
 */
import { createHash } from 'node:crypto';

const CELL = 16;
const TABLE_CELLS = 4096;
const TEMPLATE_BYTES = TABLE_CELLS * CELL; // 64 KiB, divides 2^32
const TWO_32 = 0x1_0000_0000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface SeedState {
  readonly mixLo: number;
  readonly mixHi: number;
  /** TEMPLATE_BYTES bytes: offset words zero, random halves filled in. */
  readonly template: Uint8Array;
}

const seedCache = new Map<number, SeedState>();

function mulberry32(a: number): () => number {
  let s = a >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** MurmurHash3's 32-bit finalizer: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function seedState(seed: number): SeedState {
  let st = seedCache.get(seed);
  if (st !== undefined) return st;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0;
  const rnd = mulberry32(fmix32(lo ^ 0x9e3779b9) ^ fmix32((hi + 0x7f4a7c15) >>> 0));
  const mixLo = rnd();
  const mixHi = rnd();
  const template = new Uint8Array(TEMPLATE_BYTES);
  for (let c = 0; c < TABLE_CELLS; c++) {
    const a = rnd();
    const b = rnd();
    const p = c * CELL + 8;
    template[p] = a & 0xff;
    template[p + 1] = (a >>> 8) & 0xff;
    template[p + 2] = (a >>> 16) & 0xff;
    template[p + 3] = a >>> 24;
    template[p + 4] = b & 0xff;
    template[p + 5] = (b >>> 8) & 0xff;
    template[p + 6] = (b >>> 16) & 0xff;
    template[p + 7] = b >>> 24;
  }
  st = { mixLo, mixHi, template };
  if (seedCache.size >= 64) {
    const first = seedCache.keys().next();
    if (first.done !== true) seedCache.delete(first.value);
  }
  seedCache.set(seed, st);
  return st;
}

function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad range [${start}, ${end})`);
  }
}

/** Writes one full cell (absolute offset `o`, a multiple of 16) into `cell` (16 bytes). */
function writeCell(cell: Uint8Array, o: number, st: SeedState): void {
  const dv = new DataView(cell.buffer, cell.byteOffset, CELL);
  dv.setUint32(0, ((o % TWO_32) ^ st.mixLo) >>> 0, true);
  dv.setUint32(4, (Math.floor(o / TWO_32) ^ st.mixHi) >>> 0, true);
  const t = (o % TEMPLATE_BYTES) + 8;
  cell.set(st.template.subarray(t, t + 8), 8);
}

/**
 * Fills `target` with object content starting at absolute offset `absStart`
 * (must be a multiple of 16). Ignores the object size (content is defined
 * for every offset). `target.byteOffset` must be a multiple of 4 for the
 * fast path.
 */
function fillAligned(target: Uint8Array, absStart: number, st: SeedState): void {
  const len = target.length;
  if (len === 0) return;
  // 1. random halves (and zero offset words) from the periodic template
  let pos = 0;
  while (pos < len) {
    const tOff = (absStart + pos) % TEMPLATE_BYTES;
    const n = Math.min(TEMPLATE_BYTES - tOff, len - pos);
    target.set(st.template.subarray(tOff, tOff + n), pos);
    pos += n;
  }
  // 2. offset words of the full cells
  const fullCells = Math.floor(len / CELL);
  if (LITTLE_ENDIAN && target.byteOffset % 4 === 0) {
    const u32 = new Uint32Array(target.buffer, target.byteOffset, fullCells * 4);
    const mixLo = st.mixLo;
    let cell = 0;
    while (cell < fullCells) {
      const o = absStart + cell * CELL;
      let lo = o % TWO_32;
      const hiX = (Math.floor(o / TWO_32) ^ st.mixHi) >>> 0;
      // run until the low word wraps (hi constant within the run)
      const run = Math.min(fullCells - cell, (TWO_32 - lo) / CELL);
      let j = cell * 4;
      const jEnd = (cell + run) * 4;
      while (j < jEnd) {
        u32[j] = lo ^ mixLo;
        u32[j + 1] = hiX;
        lo += CELL;
        j += 4;
      }
      cell += run;
    }
  } else {
    const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
    for (let cell = 0; cell < fullCells; cell++) {
      const o = absStart + cell * CELL;
      dv.setUint32(cell * CELL, ((o % TWO_32) ^ st.mixLo) >>> 0, true);
      dv.setUint32(cell * CELL + 4, (Math.floor(o / TWO_32) ^ st.mixHi) >>> 0, true);
    }
  }
  // 3. truncated last cell
  const rest = len - fullCells * CELL;
  if (rest > 0) {
    const cell = new Uint8Array(CELL);
    writeCell(cell, absStart + fullCells * CELL, st);
    target.set(cell.subarray(0, rest), fullCells * CELL);
  }
}

const SCRATCH_BYTES = 1 << 20;

/**
 * Content of bytes [start, endExclusive) of the (unbounded) pattern for
 * `seed`, **not** clamped to any object size. May return a view into a
 * slightly larger buffer (no copy); use `objectSlice` when you need an
 * exact-size buffer. Used by the origin server to stream bodies.
 */
export function patternView(seed: number, start: number, endExclusive: number): Uint8Array {
  checkRange(start, endExclusive);
  const st = seedState(seed);
  const aStart = start - (start % CELL);
  const buf = new Uint8Array(endExclusive - aStart);
  fillAligned(buf, aStart, st);
  return start === aStart ? buf : buf.subarray(start - aStart);
}

/**
 * Bytes [start, endExclusive) of the object of `size` bytes generated from
 * `seed` (clamped to the object size). Any sub-range is generated directly,
 * without generating the prefix. Returns an exact-size, fresh buffer.
 */
export function objectSlice(size: number, seed: number, start: number, endExclusive: number): Uint8Array {
  checkRange(0, size);
  const s = Math.min(Math.max(0, start), size);
  const e = Math.min(Math.max(s, endExclusive), size);
  checkRange(s, e);
  const st = seedState(seed);
  const out = new Uint8Array(e - s);
  const phase = s % CELL;
  if (phase === 0) {
    fillAligned(out, s, st);
    return out;
  }
  // Unaligned start: generate aligned chunks into a scratch buffer and copy.
  const scratch = new Uint8Array(Math.min(SCRATCH_BYTES, out.length + CELL));
  let abs = s - phase;
  let written = 0;
  while (written < out.length) {
    const chunk = scratch.subarray(0, Math.min(scratch.length, e - abs));
    fillAligned(chunk, abs, st);
    const from = written === 0 ? phase : 0;
    out.set(chunk.subarray(from), written);
    written += chunk.length - from;
    abs += chunk.length;
  }
  return out;
}

/** The whole object of `size` bytes generated from `seed`. */
export function objectBytes(size: number, seed = 1): Uint8Array {
  return objectSlice(size, seed, 0, size);
}

/**
 * The offset that the cell at absolute position `cellOffset` (a multiple of
 * 16) of `data` encodes, i.e. where those bytes were generated for. `data`
 * holds object bytes starting at absolute offset `dataStart`. Returns
 * undefined when the cell's first 8 bytes are not all inside `data`.
 */
export function decodeCellOffset(data: Uint8Array, dataStart: number, cellOffset: number, seed = 1): number | undefined {
  const i = cellOffset - dataStart;
  if (cellOffset % CELL !== 0 || i < 0 || i + 8 > data.length) return undefined;
  const st = seedState(seed);
  const dv = new DataView(data.buffer, data.byteOffset + i, 8);
  const lo = (dv.getUint32(0, true) ^ st.mixLo) >>> 0;
  const hi = (dv.getUint32(4, true) ^ st.mixHi) >>> 0;
  return hi * TWO_32 + lo;
}

/**
 * Index (relative to `data`) of the first byte of `data` that differs from
 * the object content at [dataStart, dataStart + data.length), or -1 when all
 * match. Bytes past `size` never match.
 */
export function findMismatch(data: Uint8Array, size: number, seed: number, dataStart = 0): number {
  const step = 4 << 20;
  for (let i = 0; i < data.length; i += step) {
    const n = Math.min(step, data.length - i);
    const expected = objectSlice(size, seed, dataStart + i, dataStart + i + n);
    const m = Math.min(n, expected.length);
    const actual = data.subarray(i, i + n);
    if (Buffer.compare(actual.subarray(0, m), expected) !== 0 || m < n) {
      for (let k = 0; k < m; k++) if (actual[k] !== expected[k]) return i + k;
      return i + m;
    }
  }
  return -1;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof x === 'object' && x !== null && typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** Hex SHA-256 of a buffer, or of the concatenation of an (async) iterable of chunks (e.g. a ReadableStream). */
export async function sha256Hex(data: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  if (data instanceof Uint8Array) {
    h.update(data);
  } else if (isAsyncIterable(data)) {
    for await (const chunk of data) h.update(chunk);
  } else {
    for (const chunk of data) h.update(chunk);
  }
  return h.digest('hex');
}

const shaCache = new Map<string, Promise<string>>();

/**
 * Hex SHA-256 of the object (size, seed), computed by generating it in
 * slices (constant memory, works for multi-GiB objects). Yields to the event
 * loop between slices so an in-process origin keeps serving. Memoized.
 */
export function objectSha256(size: number, seed = 1): Promise<string> {
  checkRange(0, size);
  const key = `${size}:${seed}`;
  let p = shaCache.get(key);
  if (p === undefined) {
    p = computeObjectSha256(size, seed);
    shaCache.set(key, p);
    p.catch(() => shaCache.delete(key));
  }
  return p;
}

async function computeObjectSha256(size: number, seed: number): Promise<string> {
  const st = seedState(seed);
  const h = createHash('sha256');
  const step = 4 << 20;
  const buf = new Uint8Array(Math.min(step, size));
  let sinceYield = 0;
  for (let o = 0; o < size; o += step) {
    const chunk = buf.subarray(0, Math.min(step, size - o));
    fillAligned(chunk, o, st);
    h.update(chunk);
    sinceYield += chunk.length;
    if (sinceYield >= 64 << 20) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return h.digest('hex');
}
