import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeCellOffset,
  findMismatch,
  objectBytes,
  objectSha256,
  objectSlice,
  patternView,
  sha256Hex,
} from './support/object.ts';
import { parseRange, startOrigin } from './support/origin.ts';
import type { Origin } from './support/origin.ts';

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

function get(origin: Origin, path: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(origin.url(path), { ...init, headers });
}

describe('object.ts', () => {
  it('slices equal the corresponding part of the whole object, for any alignment', () => {
    const size = 70_001; // not a multiple of 16, spans two 64 KiB template periods
    const whole = objectBytes(size, 3);
    expect(whole.length).toBe(size);
    let x = 12345;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    for (let i = 0; i < 300; i++) {
      const a = rnd(size + 1);
      const b = a + rnd(size - a + 1);
      const s = objectSlice(size, 3, a, b);
      expect(s.length).toBe(b - a);
      expect(Buffer.from(s).equals(whole.subarray(a, b))).toBe(true);
    }
    // clamped to the object size
    expect(objectSlice(size, 3, size - 5, size + 100).length).toBe(5);
  });

  it('cells encode their own offset, so misplaced spans are detectable', () => {
    const data = objectBytes(4096, 9);
    expect(decodeCellOffset(data, 0, 1024, 9)).toBe(1024);
    // different seeds give different content
    expect(Buffer.from(objectBytes(4096, 10)).equals(data)).toBe(false);
    // swap two 16-byte cells: the random halves are equal per period, but the offsets differ
    const swapped = data.slice();
    swapped.set(data.subarray(32, 48), 64);
    swapped.set(data.subarray(64, 80), 32);
    expect(findMismatch(swapped, 4096, 9)).toBe(32);
    expect(decodeCellOffset(swapped, 0, 32, 9)).toBe(64);
    // a shifted copy (duplicate of 16 bytes) mismatches too
    const shifted = new Uint8Array(4096);
    shifted.set(data.subarray(0, 16), 0);
    shifted.set(data.subarray(0, 4080), 16);
    expect(findMismatch(shifted, 4096, 9)).toBeGreaterThanOrEqual(0);
    expect(findMismatch(data.subarray(100, 300), 4096, 9, 100)).toBe(-1);
    // offsets beyond 2^32 work
    const far = 2 ** 33 + 48;
    expect(decodeCellOffset(patternView(9, far - 16, far + 32), far - 16, far, 9)).toBe(far);
  });

  it('objectSha256 (streamed in slices) equals sha256 of the bytes', async () => {
    const size = (5 << 20) + 7;
    expect(await objectSha256(size, 2)).toBe(await sha256Hex(objectBytes(size, 2)));
    expect(await sha256Hex([objectSlice(size, 2, 0, 1000), objectSlice(size, 2, 1000, size)])).toBe(
      await objectSha256(size, 2),
    );
    expect(await objectSha256(0, 1)).toBe(await sha256Hex(new Uint8Array(0)));
  });

  it('parseRange follows RFC 9110', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'none' });
    expect(parseRange('bytes=2-4', 10)).toEqual({ kind: 'range', start: 2, end: 4 });
    expect(parseRange('bytes=2-', 10)).toEqual({ kind: 'range', start: 2, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'range', start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ kind: 'range', start: 0, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ kind: 'range', start: 5, end: 9 });
    expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=4-2', 10)).toEqual({ kind: 'ignore' });
    expect(parseRange('bytes=0-1,3-4', 10)).toEqual({ kind: 'ignore' });
    expect(parseRange('items=0-1', 10)).toEqual({ kind: 'ignore' });
  });
});

describe('origin', () => {
  let origin: Origin;
  const SIZE = 1_000_003;

  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin.close();
  });
  beforeEach(() => {
    origin.shape(undefined);
    origin.cors(undefined);
    origin.put('/obj', { size: SIZE, seed: 4 });
    origin.fault('/obj', undefined);
    origin.resetStats();
  });

  it('GET without Range returns the whole object', async () => {
    const res = await get(origin, '/obj');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('etag')).toMatch(/^"s4-1000003-r\d+"$/);
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
    expect(await sha256Hex(res.body!)).toBe(await objectSha256(SIZE, 4));
  });

  it('206 for a middle range, open-ended range, suffix range; HEAD', async () => {
    let res = await get(origin, '/obj', { Range: 'bytes=1000-299999' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000-299999/${SIZE}`);
    expect(res.headers.get('content-length')).toBe('299000');
    expect(Buffer.from(await bytesOf(res)).equals(objectSlice(SIZE, 4, 1000, 300000))).toBe(true);

    res = await get(origin, '/obj', { Range: `bytes=${SIZE - 10}-` });
    expect(res.headers.get('content-range')).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
    expect(Buffer.from(await bytesOf(res)).equals(objectSlice(SIZE, 4, SIZE - 10, SIZE))).toBe(true);

    res = await get(origin, '/obj', { Range: 'bytes=-100' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`);
    expect(Buffer.from(await bytesOf(res)).equals(objectSlice(SIZE, 4, SIZE - 100, SIZE))).toBe(true);

    res = await fetch(origin.url('/obj'), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
  });

  it('416 for unsatisfiable ranges, including any range of an empty object; 404 for unknown paths', async () => {
    origin.put('/empty', { size: 0 });
    let res = await get(origin, '/empty', { Range: 'bytes=0-1023' });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */0');
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: `bytes=${SIZE}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`);
    await res.arrayBuffer();
    res = await get(origin, '/empty');
    expect(res.status).toBe(200);
    expect((await bytesOf(res)).length).toBe(0);
    res = await get(origin, '/nope');
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  it('explicit body and acceptRanges: false', async () => {
    const body = new TextEncoder().encode('hello, world');
    origin.put('/body', { body, contentType: 'text/plain' });
    let res = await get(origin, '/body', { Range: 'bytes=7-' });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe('world');
    origin.put('/norange', { body, acceptRanges: false });
    res = await get(origin, '/norange', { Range: 'bytes=7-' });
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBeNull();
    expect(await res.text()).toBe('hello, world');
  });

  it('If-Match: strong comparison, * matches, mismatch → 412; weak ETags never match', async () => {
    const etag = origin.get('/obj')!.etag!;
    let res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': etag });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': '"other", ' + etag });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': '*' });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': '"nope"' });
    expect(res.status).toBe(412);
    expect((await bytesOf(res)).length).toBe(0);
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': `W/${etag}` });
    expect(res.status).toBe(412);
    await res.arrayBuffer();

    const weak = origin.put('/weak', { size: 100, weakEtag: true });
    expect(weak.etag).toMatch(/^W\/"/);
    res = await get(origin, '/weak', { Range: 'bytes=0-9', 'If-Match': weak.etag! });
    expect(res.status).toBe(412);
    await res.arrayBuffer();
    res = await get(origin, '/weak', { Range: 'bytes=0-9', 'If-Match': weak.etag!.slice(2) });
    expect(res.status).toBe(412);
    await res.arrayBuffer();
  });

  it('If-Unmodified-Since, If-None-Match, If-Modified-Since, If-Range', async () => {
    const obj = origin.get('/obj')!;
    const lm = Date.parse(obj.lastModified!);
    let res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Unmodified-Since': obj.lastModified! });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Unmodified-Since': new Date(lm - 1000).toUTCString() });
    expect(res.status).toBe(412);
    await res.arrayBuffer();

    res = await get(origin, '/obj', { 'If-None-Match': obj.etag! });
    expect(res.status).toBe(304);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { 'If-Modified-Since': obj.lastModified! });
    expect(res.status).toBe(304);
    await res.arrayBuffer();

    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Range': obj.etag! });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Range': obj.lastModified! });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Range': '"stale"' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    await res.arrayBuffer();
  });

  it('put() replacement bumps the revision: new ETag and Last-Modified', async () => {
    const before = origin.get('/obj')!;
    const after = origin.put('/obj', { size: SIZE, seed: 4 });
    expect(after.revision).toBe(before.revision + 1);
    expect(after.etag).not.toBe(before.etag);
    expect(Date.parse(after.lastModified!)).toBeGreaterThan(Date.parse(before.lastModified!));
    const res = await get(origin, '/obj', { Range: 'bytes=0-9', 'If-Match': before.etag! });
    expect(res.status).toBe(412);
    await res.arrayBuffer();
    const custom = origin.put('/custom', { size: 10, etag: 'abc', lastModified: null });
    expect(custom.etag).toBe('"abc"');
    const r2 = await fetch(origin.url('/custom'), { method: 'HEAD' });
    expect(r2.headers.get('etag')).toBe('"abc"');
    expect(r2.headers.get('last-modified')).toBeNull();
  });

  it('fault: status with Retry-After, counted per path', async () => {
    const seen: number[] = [];
    origin.fault('/obj', ({ count }) => {
      seen.push(count);
      return count === 1 ? { status: 503, retryAfter: '1' } : undefined;
    });
    let res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    await res.arrayBuffer();
    res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(res.status).toBe(206);
    await res.arrayBuffer();
    expect(seen).toEqual([1, 2]);
    expect(origin.requests.map((r) => [r.status, r.count])).toEqual([
      [503, 1],
      [206, 2],
    ]);
  });

  it('fault: resetAfterBytes makes the body read reject after exactly n bytes', async () => {
    origin.fault('/obj', () => ({ resetAfterBytes: 100_000 }));
    const res = await get(origin, '/obj', { Range: 'bytes=0-499999' });
    expect(res.status).toBe(206);
    let got = 0;
    await expect(
      (async () => {
        for await (const c of res.body!) got += c.length;
      })(),
    ).rejects.toThrow();
    expect(got).toBe(100_000);
    await origin.whenIdle();
    expect(origin.requests[0]).toMatchObject({ reset: true, aborted: false, bytesSent: 100_000 });
  });

  it('fault: shortAfterBytes ends cleanly but short; extraBytes sends too much', async () => {
    origin.fault('/obj', () => ({ shortAfterBytes: 1234 }));
    let res = await get(origin, '/obj', { Range: 'bytes=100-9999' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-length')).toBeNull();
    let body = await bytesOf(res);
    expect(body.length).toBe(1234);
    expect(Buffer.from(body).equals(objectSlice(SIZE, 4, 100, 1334))).toBe(true);

    origin.fault('/obj', () => ({ extraBytes: 77 }));
    res = await get(origin, '/obj', { Range: `bytes=${SIZE - 100}-` });
    expect(res.headers.get('content-range')).toBe(`bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`);
    body = await bytesOf(res);
    expect(body.length).toBe(177);
    expect(Buffer.from(body.subarray(0, 100)).equals(objectSlice(SIZE, 4, SIZE - 100, SIZE))).toBe(true);
  });

  it('fault: stall with stallMs delays the body; delayMs delays the headers', async () => {
    origin.fault('/obj', () => ({ stallAfterBytes: 1000, stallMs: 150 }));
    let t0 = performance.now();
    let res = await get(origin, '/obj', { Range: 'bytes=0-9999' });
    let body = await bytesOf(res);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(Buffer.from(body).equals(objectSlice(SIZE, 4, 0, 10000))).toBe(true);

    origin.fault('/obj', () => ({ delayMs: 120 }));
    t0 = performance.now();
    res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    body = await bytesOf(res);
    expect(body.length).toBe(10);
  });

  it('fault: ignoreRange, contentRange/contentLength/etag overrides', async () => {
    origin.fault('/obj', ({ count }) =>
      count === 1 ? { ignoreRange: true } : { contentRange: 'bytes 5-14/999', etag: '"changed"', lastModified: null },
    );
    let res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBeNull();
    expect((await bytesOf(res)).length).toBe(SIZE);
    res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 5-14/999');
    expect(res.headers.get('etag')).toBe('"changed"');
    expect(res.headers.get('last-modified')).toBeNull();
    expect((await bytesOf(res)).length).toBe(10);

    origin.fault('/obj', () => ({ contentLength: null }));
    res = await get(origin, '/obj', { Range: 'bytes=0-9' });
    expect(res.headers.get('content-length')).toBeNull();
    expect((await bytesOf(res)).length).toBe(10);
  });

  it('shaping: rate limit and ttfb; stragglers stall', async () => {
    origin.put('/mib', { size: 1 << 20 });
    origin.shape({ bytesPerSecond: 4 << 20, ttfbMs: 50 });
    let t0 = performance.now();
    let res = await get(origin, '/mib');
    const ttfb = performance.now() - t0;
    expect(await sha256Hex(res.body!)).toBe(await objectSha256(1 << 20, 1));
    const total = performance.now() - t0;
    expect(ttfb).toBeGreaterThanOrEqual(45);
    expect(total).toBeGreaterThanOrEqual(200 + 45);
    expect(total).toBeLessThan(1500);

    origin.fault('/mib', () => ({ bytesPerSecond: 8 << 20 })); // min(shape, fault) = 4 MiB/s
    origin.shape({ stragglers: { fraction: 1, stallMs: 200, afterFraction: 0.25 } });
    t0 = performance.now();
    res = await get(origin, '/mib');
    expect((await bytesOf(res)).length).toBe(1 << 20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190 + 100);
    expect(origin.requestsTo('/mib').at(-1)?.straggler).toBe(true);
  });

  it('counts inFlight / maxInFlight over 4 parallel requests', async () => {
    origin.fault('/obj', () => ({ delayMs: 150 }));
    const all = Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const res = await get(origin, '/obj', { Range: `bytes=${i * 1000}-${i * 1000 + 999}` });
        return (await bytesOf(res)).length;
      }),
    );
    for (let i = 0; i < 100 && origin.inFlight < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(origin.inFlight).toBe(4);
    expect(await all).toEqual([1000, 1000, 1000, 1000]);
    await origin.whenIdle();
    expect(origin.inFlight).toBe(0);
    expect(origin.maxInFlight).toBe(4);
    expect(origin.openSockets).toBeGreaterThanOrEqual(4);
    expect(origin.requests.map((r) => r.range).sort()).toEqual(
      ['bytes=0-999', 'bytes=1000-1999', 'bytes=2000-2999', 'bytes=3000-3999'],
    );
    origin.resetStats();
    expect(origin.maxInFlight).toBe(0);
    expect(origin.requests).toHaveLength(0);
  });

  it('shaping: maxResponses serves that many at once and answers the rest 503 at once, with Retry-After', async () => {
    origin.put('/obj4', { size: 4000 });
    origin.shape({ ttfbMs: 150, maxResponses: { limit: 4, retryAfter: '1' } });
    const statuses = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        const res = await get(origin, '/obj4', { Range: `bytes=${i * 100}-${i * 100 + 99}` });
        await bytesOf(res);
        return `${res.status}${res.headers.get('retry-after') === null ? '' : ` ${res.headers.get('retry-after')}`}`;
      }),
    );
    expect(statuses.sort()).toEqual(['206', '206', '206', '206', '503 1', '503 1']);
    expect(origin.maxServing).toBe(4);
    expect(origin.requestsTo('/obj4').filter((r) => r.limited)).toHaveLength(2);
    // Served ones close: room again.
    const res = await get(origin, '/obj4', { Range: 'bytes=0-9' });
    expect(res.status).toBe(206);
    await bytesOf(res);
  });

  it('shaping: linkBytesPerSecond caps all responses together', async () => {
    origin.put('/link', { size: 1 << 20 });
    origin.shape({ linkBytesPerSecond: 8 << 20 });
    const t0 = performance.now();
    const lengths = await Promise.all([0, 1, 2, 3].map(async () => (await bytesOf(await get(origin, '/link'))).length));
    expect(lengths).toEqual([1 << 20, 1 << 20, 1 << 20, 1 << 20]);
    // 4 MiB over an 8 MiB/s link, less the 50 ms burst: one response alone would take an eighth.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(450);
  });

  it('records client aborts (stall forever, then abort)', async () => {
    origin.fault('/obj', () => ({ stallAfterBytes: 5000 }));
    const ac = new AbortController();
    const res = await get(origin, '/obj', { Range: 'bytes=0-99999' }, { signal: ac.signal });
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 5000) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
    expect(got).toBe(5000);
    expect(origin.inFlight).toBe(1);
    ac.abort();
    await expect(reader.read()).rejects.toThrow();
    await origin.whenIdle(2000);
    const rec = origin.requests[0]!;
    expect(rec).toMatchObject({ method: 'GET', path: '/obj', range: 'bytes=0-99999', status: 206, aborted: true });
    expect(rec.bytesSent).toBe(5000);
    expect(rec.endedAt).toBeGreaterThan(rec.startedAt);
  });

  it('CORS: preflight grants only allowed headers; responses carry allow/expose headers', async () => {
    origin.cors({ allowOrigin: '*', exposeHeaders: ['Content-Range', 'ETag'], allowHeaders: ['Range', 'If-Match'], maxAge: 60 });
    let res = await fetch(origin.url('/obj'), {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range, if-match, x-foo' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-allow-headers')).toBe('range, if-match');
    expect(res.headers.get('access-control-max-age')).toBe('60');
    res = await get(origin, '/obj', { Range: 'bytes=0-9', Origin: 'http://example.test' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toBe('Content-Range, ETag');
    await res.arrayBuffer();
    expect(origin.requests.map((r) => r.method)).toEqual(['OPTIONS', 'GET']);
    expect(origin.maxInFlight).toBe(1);
  });

  it('serveDir serves static files with content types and no traversal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'origin-static-'));
    try {
      await writeFile(join(dir, 'index.html'), '<!doctype html><p>hi</p>');
      await writeFile(join(dir, 'app.mjs'), 'export const x = 1;');
      origin.serveDir('/static/', dir);
      let res = await get(origin, '/static/app.mjs');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await res.text()).toBe('export const x = 1;');
      res = await get(origin, '/static/');
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<p>hi</p>');
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(origin.url('/static/%2e%2e/%2e%2e/etc/passwd'), (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(404);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('close()', () => {
  it('destroys stalled connections and leaves nothing open', async () => {
    const origin = await startOrigin();
    origin.put('/x', { size: 1 << 20 });
    origin.fault('/x', () => ({ stallAfterBytes: 10, delayMs: 0 }));
    const res = await get(origin, '/x');
    const pending = bytesOf(res).then(
      () => 'resolved',
      () => 'rejected',
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(origin.inFlight).toBe(1);
    await origin.close();
    expect(await pending).toBe('rejected');
    expect(origin.openSockets).toBe(0);
    expect(origin.inFlight).toBe(0);
    await expect(fetch(origin.url('/x'))).rejects.toThrow();
    await origin.close(); // idempotent
  });

  it('lets a process exit right after close()', async () => {
    const originTs = fileURLToPath(new URL('./support/origin.ts', import.meta.url));
    const script = `
      const { startOrigin } = await import(${JSON.stringify(originTs)});
      const o = await startOrigin();
      o.put('/x', { size: 1 << 20 });
      o.shape({ bytesPerSecond: 1 << 20, ttfbMs: 10 });
      o.fault('/x', ({ count }) => count === 1 ? { stallAfterBytes: 100 } : { delayMs: 60000 });
      const r1 = await fetch(o.url('/x'));
      r1.body.getReader().read();
      fetch(o.url('/x')).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      o.whenIdle(60000).catch(() => {});
      await o.close();
      console.log('closed');
    `;
    // a Node that runs .ts directly: this one, or the project's pinned node
    const nodeBin = (process.features as { typescript?: unknown }).typescript
      ? process.execPath
      : fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(nodeBin, ['--input-type=module', '-e', script], { timeout: 8000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    expect(out.trim()).toBe('closed');
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
