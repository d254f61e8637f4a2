/**
 * Local HTTP/1.1 origin server for tests, benchmarks, demos and examples.
 *
 *   const origin = await startOrigin();
 *   origin.put('/a.bin', { size: 8 << 20, seed: 3 });
 *   origin.fault('/a.bin', ({ count }) => (count === 2 ? { resetAfterBytes: 1000 } : undefined));
 *   const res = await fetch(origin.url('/a.bin'), { headers: { Range: 'bytes=0-99' } });
 *   ...
 *   await origin.close();
 *
 * Implements GET/HEAD with single byte ranges and the RFC 9110 conditional
 * headers (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
 * If-Range), per-path fault injection, global traffic shaping, CORS and
 * static file serving. Bodies are generated on the fly in slices (see
 * object.ts), respecting write backpressure, so multi-GiB objects cost no
 * memory. Never compresses.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { type DigestHeader, digestHeader } from './digests.ts';
import { fmix32, objectSha256, objectSlice, patternView, sha256Hex } from './object.ts';

// ---------------------------------------------------------------------------
// Public types

export interface OriginObjectSpec {
  /** Generated content size in bytes (default 0 unless `body` is given). */
  size?: number;
  /** Generator seed (default 1). */
  seed?: number;
  /** Explicit content instead of generated content (kept by reference). */
  body?: Uint8Array;
  /**
   * Default: strong ETag derived from seed/size/revision, e.g. `"s1-1048576-r1"`.
   * A value without quotes is quoted. null = no ETag header.
   */
  etag?: string | null;
  /** Send W/"..." instead of a strong ETag. */
  weakEtag?: boolean;
  /** Default: a fixed HTTP-date per revision (revisions one hour apart). null = none. */
  lastModified?: string | null;
  /** Default application/octet-stream. */
  contentType?: string;
  /** Default true; false = ignore Range entirely (always 200 full body, no Accept-Ranges header). */
  acceptRanges?: boolean;
  /** Default `no-store`; null = no Cache-Control header. */
  cacheControl?: string | null;
  /** Digest headers sent on every 200 and 206, with the right values (see digests.ts). */
  digests?: DigestHeader[];
}

export interface OriginObject {
  readonly path: string;
  readonly url: string;
  readonly size: number;
  readonly seed: number;
  /** 1 for the first put() of a path, +1 on every replacement. */
  readonly revision: number;
  /** ETag header value (with quotes, W/ prefix if weak) or null. */
  readonly etag: string | null;
  /** Last-Modified header value or null. */
  readonly lastModified: string | null;
  readonly contentType: string;
  readonly acceptRanges: boolean;
  readonly body: Uint8Array | undefined;
  /** Bytes [start, endExclusive) of the content (clamped to size). */
  slice(start?: number, endExclusive?: number): Uint8Array;
  /** Hex SHA-256 of the whole content. */
  sha256(): Promise<string>;
}

/** Byte range of a request, resolved against the object size; `end` is inclusive (as in HTTP). */
export interface ResolvedRange {
  start: number;
  end: number;
  /** end - start + 1 */
  length: number;
}

export interface FaultRequest {
  method: string;
  path: string;
  /** The satisfiable single range requested (undefined when absent, invalid, multiple or unsatisfiable). */
  range: ResolvedRange | undefined;
  headers: Record<string, string>;
  /** nth request (GET/HEAD) to this path since the rule was installed with fault(), from 1. */
  count: number;
}

export interface Fault {
  /** Send this status with a tiny body (empty for HEAD/204/304) instead of the object. */
  status?: number;
  /** Retry-After header for `status`. */
  retryAfter?: string;
  /** Extra/overriding response headers (applied to every kind of response). */
  headers?: Record<string, string>;
  /** Body for `status` (default `fault <status>\n`). */
  body?: string;
  /** Wait before sending headers (time to first byte). Adds to shape().ttfbMs. */
  delayMs?: number;
  /** Wait for this promise too before sending headers (after delayMs): holds an answer until a test says so. */
  until?: Promise<unknown>;
  /** Destroy the connection without any response (after delayMs). */
  dropConnection?: boolean;
  /** Answer 200 with the full body even if a Range was sent. */
  ignoreRange?: boolean;
  /** Skip If-Match/If-None-Match/If-(Un)Modified-Since/If-Range evaluation. */
  ignoreConditionals?: boolean;
  /** Override the Content-Range header value (set even on 200). */
  contentRange?: string;
  /** Override the Content-Length header value (number) or omit it (null => chunked). A lying value also sets Connection: close. */
  contentLength?: number | null;
  /** Override ETag for this response (also used for conditional evaluation); null = omit. */
  etag?: string | null;
  /** Override Last-Modified for this response (also used for conditional evaluation); null = omit. */
  lastModified?: string | null;
  /** Send n body bytes, then destroy the socket (mid-body reset / premature close). */
  resetAfterBytes?: number;
  /** Send n body bytes, then pause for stallMs (default: forever, until the client aborts or the server closes). */
  stallAfterBytes?: number;
  stallMs?: number;
  /** Send only n body bytes, then end the response cleanly (chunked, no Content-Length). */
  shortAfterBytes?: number;
  /** Send n bytes beyond the selected range (chunked, no Content-Length). */
  extraBytes?: number;
  /** Rate-limit this response (bytes per second). Combined with shape() by taking the minimum. */
  bytesPerSecond?: number;
  /** Flip the object's byte at this absolute offset, where this response's body carries it (headers stay right). */
  corruptByteAt?: number;
}

export type FaultRule = (req: FaultRequest) => Fault | undefined;

export interface ShapeOptions {
  /** Rate limit per response. */
  bytesPerSecond?: number;
  /**
   * Rate limit of all object responses together (a shared link), bytes per second: their bytes
   * leave in the order they are written, none before its turn. Combines with `bytesPerSecond`.
   */
  linkBytesPerSecond?: number;
  /**
   * A server that serves this many object responses at once (counted from the request's arrival
   * to the response's close) and answers the others `status` (503 by default) at once, with
   * `retryAfter` as its Retry-After if given. Such answers are marked `limited` in the records.
   */
  maxResponses?: { limit: number; status?: number; retryAfter?: string };
  /** Delay before the headers of every object response. */
  ttfbMs?: number;
  stragglers?: {
    /** Fraction (0..1) of object GET responses that stall. */
    fraction: number;
    stallMs: number;
    /** Stall after this fraction of the body (default 0.5). */
    afterFraction?: number;
    /** Seed for the deterministic choice of stalled responses (default 1). */
    seed?: number;
  };
}

export interface CorsOptions {
  /** e.g. '*' or 'http://127.0.0.1:5173'. */
  allowOrigin: string;
  /** Access-Control-Expose-Headers, e.g. ['Content-Range', 'ETag']; [] or undefined = none. */
  exposeHeaders?: string[];
  /** Headers allowed in preflights, e.g. ['Range', 'If-Match']. Requested headers not listed are omitted. */
  allowHeaders?: string[];
  /** Access-Control-Max-Age in seconds. */
  maxAge?: number;
  /** Send Access-Control-Allow-Credentials: true. */
  allowCredentials?: boolean;
}

export interface RequestRecord {
  /** Sequence number (from 1) over the origin's lifetime. */
  id: number;
  method: string;
  /** Path without query string. */
  path: string;
  /** Raw request target (with query string). */
  url: string;
  /** Raw Range header, if any. */
  range?: string;
  /** Request headers, lower-case names (repeated headers joined with ", "). */
  headers: Record<string, string>;
  /** Status sent (0 until headers are sent; stays 0 if the request ended before). */
  status: number;
  /** Body bytes handed to the socket. */
  bytesSent: number;
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
  /** The server destroyed the connection on purpose (resetAfterBytes / dropConnection). */
  reset: boolean;
  /** Per-path count passed to the fault rule (0 for non-object requests). */
  count: number;
  /** The fault applied, if any. */
  fault?: Fault;
  /** This response was chosen as a straggler by shape(). */
  straggler?: boolean;
  /** Refused by shape().maxResponses: the server was serving its limit already. */
  limited?: boolean;
  /** performance.now() timestamps. */
  startedAt: number;
  endedAt?: number;
}

export interface StartOriginOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (random). */
  port?: number;
  /** Body slice size (default 64 KiB). */
  sliceBytes?: number;
  /** Server keep-alive timeout in ms (default 5000). */
  keepAliveTimeoutMs?: number;
  cors?: CorsOptions;
  shape?: ShapeOptions;
}

export interface Origin {
  readonly port: number;
  /** "http://127.0.0.1:PORT" */
  readonly origin: string;
  url(path: string): string;
  /** Define or replace an object (replacement bumps the revision: new default ETag and Last-Modified). */
  put(path: string, spec: OriginObjectSpec): OriginObject;
  get(path: string): OriginObject | undefined;
  /** Remove an object (then 404). */
  remove(path: string): void;
  /** Set (or clear with undefined) the fault rule of a path; resets that path's request count. */
  fault(path: string, rule: FaultRule | undefined): void;
  /** Global traffic shaping (undefined = none). Resets the straggler sequence. */
  shape(options: ShapeOptions | undefined): void;
  cors(options: CorsOptions | undefined): void;
  /** Serve static files under `prefix` from `dir` (relative to cwd), e.g. serveDir('/dist/', 'dist'). */
  serveDir(prefix: string, dir: string): void;
  /** Every request (object, static, 404, OPTIONS), in arrival order. resetStats() empties it in place. */
  readonly requests: RequestRecord[];
  /** Records for one path. */
  requestsTo(path: string): RequestRecord[];
  /** GET/HEAD requests to objects currently being answered (from arrival to response end/abort). */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Most object responses served at once within shape().maxResponses since the last resetStats(). */
  readonly maxServing: number;
  readonly openSockets: number;
  /** Total body bytes sent since the last resetStats(). */
  readonly bytesSent: number;
  resetStats(): void;
  /** Resolves once inFlight == 0; rejects after timeoutMs (default 5000). */
  whenIdle(timeoutMs?: number): Promise<void>;
  /** Destroys all sockets, closes the server, clears every timer. Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Internals

interface Entry {
  readonly path: string;
  readonly size: number;
  readonly seed: number;
  readonly body: Uint8Array | undefined;
  readonly revision: number;
  readonly etag: string | null;
  readonly lastModified: string | null;
  readonly contentType: string;
  readonly acceptRanges: boolean;
  readonly cacheControl: string | null;
  readonly digests: DigestHeader[];
  /** The whole content, made once on first use (for digests). */
  whole(): Uint8Array;
  readonly object: OriginObject;
}

type RangeResult =
  | { kind: 'none' }
  | { kind: 'ignore' } // invalid syntax, other unit, multiple ranges
  | { kind: 'unsatisfiable' }
  | { kind: 'range'; start: number; end: number };

const BASE_DATE_MS = Date.UTC(2024, 0, 1, 0, 0, 0);
const HOUR_MS = 3_600_000;
const DEFAULT_SLICE = 64 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Parses a Range header against `size` (RFC 9110 §14.1.2). */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (m === null) return { kind: 'ignore' };
  const specs = (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length !== 1) return { kind: 'ignore' };
  const spec = specs[0] ?? '';
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (r === null) return { kind: 'ignore' };
  const a = r[1] ?? '';
  const b = r[2] ?? '';
  if (a === '' && b === '') return { kind: 'ignore' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const endRaw = b === '' ? Infinity : Number(b);
  if (endRaw < start) return { kind: 'ignore' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(endRaw, size - 1) };
}

interface EntityTag {
  weak: boolean;
  opaque: string; // including quotes
}

function parseEtag(v: string): EntityTag | undefined {
  const m = /^\s*(W\/)?("[^"]*")\s*$/.exec(v);
  if (m === null) return undefined;
  return { weak: m[1] !== undefined, opaque: m[2] ?? '' };
}

function parseEtagList(v: string): EntityTag[] | '*' {
  if (v.trim() === '*') return '*';
  const out: EntityTag[] = [];
  const re = /(W\/)?("[^"]*")/g;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) out.push({ weak: m[1] !== undefined, opaque: m[2] ?? '' });
  return out;
}

function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

function parseDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

function normalizeEtag(v: string, weak: boolean): string {
  let tag = v.trim();
  let isWeak = weak;
  if (tag.startsWith('W/')) {
    isWeak = true;
    tag = tag.slice(2);
  }
  if (!tag.startsWith('"')) tag = `"${tag}"`;
  return isWeak ? `W/${tag}` : tag;
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function hash32(a: number, b: number): number {
  return fmix32(Math.imul((a >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((b >>> 0) + 0x27d4eb2f, 0xc2b2ae35));
}

/** Per-response close signal: sleeps and drain waits wake up when the response closes. */
class ResponseState {
  closed = false;
  private readonly waiters = new Set<() => void>();
  constructor(res: ServerResponse) {
    res.once('close', () => {
      this.closed = true;
      for (const w of this.waiters) w();
      this.waiters.clear();
    });
  }
  onClose(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => {};
    }
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }
}

// ---------------------------------------------------------------------------

export async function startOrigin(options: StartOriginOptions = {}): Promise<Origin> {
  const host = options.host ?? '127.0.0.1';
  const sliceBytes = Math.max(1024, options.sliceBytes ?? DEFAULT_SLICE);
  const objects = new Map<string, Entry>();
  const rules = new Map<string, FaultRule>();
  const counts = new Map<string, number>();
  const dirs: { prefix: string; dir: string }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const idleWaiters = new Set<() => void>();
  const requests: RequestRecord[] = [];
  let corsOptions: CorsOptions | undefined = options.cors;
  let shapeOptions: ShapeOptions | undefined = options.shape;
  let stragglerSeq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  /** Object responses being served within shape().maxResponses, and the most at once. */
  let serving = 0;
  let maxServing = 0;
  /** When the shared link (shape().linkBytesPerSecond) has sent everything written so far. */
  let linkFreeAt = 0;
  let totalBytesSent = 0;
  let requestSeq = 0;
  let closePromise: Promise<void> | undefined;

  // --- timers ---------------------------------------------------------------

  function later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, Math.max(0, ms));
    t.unref();
    timers.add(t);
    return t;
  }

  function cancel(t: ReturnType<typeof setTimeout> | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    timers.delete(t);
  }

  /** Sleeps ms (Infinity = until closed); resolves early when the response closes. */
  function sleep(ms: number, st: ResponseState): Promise<void> {
    if (st.closed || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolveSleep) => {
      let t: ReturnType<typeof setTimeout> | undefined;
      const off = st.onClose(() => {
        cancel(t);
        resolveSleep();
      });
      if (Number.isFinite(ms)) {
        t = later(ms, () => {
          off();
          resolveSleep();
        });
      }
    });
  }

  /** Resolves on the writable's next 'drain', or as soon as the response closes. */
  function waitDrain(writable: ServerResponse | Socket, st: ResponseState): Promise<void> {
    if (st.closed) return Promise.resolve();
    return new Promise<void>((resolveDrain) => {
      const done = (): void => {
        writable.off('drain', done);
        off();
        resolveDrain();
      };
      const off = st.onClose(done);
      writable.once('drain', done);
    });
  }

  /** Waits until everything written so far (headers included) has been handed to the kernel. */
  async function flushed(res: ServerResponse, st: ResponseState): Promise<void> {
    if (!res.headersSent) res.flushHeaders();
    const socket = res.socket;
    while (!st.closed && socket !== null) {
      // res.write() corks the socket until the next tick
      await new Promise<void>((r) => setImmediate(r));
      if (st.closed || socket.writableLength === 0) return;
      // A socket emits 'drain' only after a write that filled its buffer: with fewer bytes left
      // than that, none comes, and waiting for one hung the response (neither reset nor ended)
      // whenever the client had been slow to read just then. Look again shortly instead.
      if (socket.writableNeedDrain) await waitDrain(socket, st);
      else await sleep(1, st);
    }
  }

  // --- stats ----------------------------------------------------------------

  function notifyIdle(): void {
    if (inFlight !== 0) return;
    for (const w of idleWaiters) w();
    idleWaiters.clear();
  }

  // --- objects --------------------------------------------------------------

  function makeEntry(path: string, spec: OriginObjectSpec, revision: number): Entry {
    const body = spec.body;
    const size = body !== undefined ? body.length : (spec.size ?? 0);
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
    const seed = spec.seed ?? 1;
    let etag: string | null;
    if (spec.etag === null) etag = null;
    else if (spec.etag !== undefined) etag = normalizeEtag(spec.etag, spec.weakEtag === true);
    else {
      const tag =
        body !== undefined
          ? `b${createHash('sha256').update(body).digest('hex').slice(0, 12)}-${size}-r${revision}`
          : `s${seed}-${size}-r${revision}`;
      etag = normalizeEtag(tag, spec.weakEtag === true);
    }
    const lastModified =
      spec.lastModified === null
        ? null
        : (spec.lastModified ?? new Date(BASE_DATE_MS + (revision - 1) * HOUR_MS).toUTCString());
    const contentType = spec.contentType ?? 'application/octet-stream';
    const acceptRanges = spec.acceptRanges ?? true;
    const cacheControl = spec.cacheControl === undefined ? 'no-store' : spec.cacheControl;
    const url = `${originUrl}${path}`;
    const slice = (start = 0, end = size): Uint8Array =>
      body !== undefined ? body.slice(Math.max(0, start), Math.min(size, end)) : objectSlice(size, seed, start, end);
    const object: OriginObject = {
      path,
      url,
      size,
      seed,
      revision,
      etag,
      lastModified,
      contentType,
      acceptRanges,
      body,
      slice,
      sha256: () => (body !== undefined ? sha256Hex(body) : objectSha256(size, seed)),
    };
    let content: Uint8Array | undefined;
    const whole = (): Uint8Array => (content ??= slice(0, size));
    const digests = spec.digests ?? [];
    return { path, size, seed, body, revision, etag, lastModified, contentType, acceptRanges, cacheControl, digests, whole, object };
  }

  /** Content bytes [start, start+n) of an entry; past the size continues the seed's pattern (for extraBytes). */
  function chunkAt(e: Entry, start: number, n: number): Uint8Array {
    const end = start + n;
    if (e.body === undefined) return patternView(e.seed, start, end);
    if (end <= e.size) return e.body.subarray(start, end);
    const out = new Uint8Array(n);
    if (start < e.size) out.set(e.body.subarray(start), 0);
    const from = Math.max(start, e.size);
    out.set(patternView(e.seed, from, end), from - start);
    return out;
  }

  // --- CORS -----------------------------------------------------------------

  function applyCors(res: ServerResponse): void {
    const c = corsOptions;
    if (c === undefined) return;
    res.setHeader('Access-Control-Allow-Origin', c.allowOrigin);
    if (c.allowOrigin !== '*') res.setHeader('Vary', 'Origin');
    if (c.allowCredentials === true) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (c.exposeHeaders !== undefined && c.exposeHeaders.length > 0) {
      res.setHeader('Access-Control-Expose-Headers', c.exposeHeaders.join(', '));
    }
  }

  function handleOptions(req: IncomingMessage, res: ServerResponse, rec: RequestRecord): void {
    const c = corsOptions;
    res.setHeader('Allow', 'GET, HEAD, OPTIONS');
    if (c !== undefined) {
      applyCors(res);
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
      const requested = (req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      const allowed = new Set((c.allowHeaders ?? []).map((h) => h.toLowerCase()));
      const granted = requested.filter((h) => allowed.has(h));
      if (granted.length > 0) res.setHeader('Access-Control-Allow-Headers', granted.join(', '));
      if (c.maxAge !== undefined) res.setHeader('Access-Control-Max-Age', String(c.maxAge));
    }
    res.setHeader('Content-Length', '0');
    res.writeHead(204);
    rec.status = 204;
    res.end();
  }

  // --- static files -----------------------------------------------------------

  async function handleStatic(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    prefix: string,
    dir: string,
    path: string,
  ): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(path.slice(prefix.length));
    } catch {
      return sendSimple(res, rec, 400, req.method === 'HEAD');
    }
    let file = resolve(dir, `.${rel.startsWith('/') ? '' : '/'}${rel}`);
    if (file !== dir && !file.startsWith(dir + sep)) return sendSimple(res, rec, 404, req.method === 'HEAD');
    try {
      if ((await stat(file)).isDirectory()) file = resolve(file, 'index.html');
      const data = await readFile(file);
      if (rec.endedAt !== undefined || res.destroyed) return;
      res.setHeader('Content-Type', MIME[extname(file).toLowerCase()] ?? 'application/octet-stream');
      res.setHeader('Content-Length', String(data.length));
      res.setHeader('Cache-Control', 'no-store');
      res.writeHead(200);
      rec.status = 200;
      if (req.method === 'HEAD') {
        res.end();
      } else {
        rec.bytesSent = data.length;
        totalBytesSent += data.length;
        res.end(data);
      }
    } catch {
      if (!res.headersSent && !res.destroyed) sendSimple(res, rec, 404, req.method === 'HEAD');
    }
  }

  function sendSimple(
    res: ServerResponse,
    rec: RequestRecord,
    status: number,
    head: boolean,
    body?: string,
    extraHeaders?: Record<string, string>,
  ): void {
    if (res.destroyed || res.headersSent) return;
    const noBody = head || status === 204 || status === 304 || (status >= 100 && status < 200);
    const data = noBody ? '' : (body ?? `${status}\n`);
    if (!noBody) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (status !== 204 && status !== 304) res.setHeader('Content-Length', String(Buffer.byteLength(data)));
    if (extraHeaders !== undefined) for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
    res.writeHead(status);
    rec.status = status;
    rec.bytesSent = Buffer.byteLength(data);
    totalBytesSent += rec.bytesSent;
    res.end(data);
  }

  // --- object responses --------------------------------------------------------

  async function handleObject(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    entry: Entry,
    st: ResponseState,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const rangeHeader = rec.headers.range;
    const parsed = parseRange(rangeHeader, entry.size);

    // fault rule
    const rule = rules.get(entry.path);
    const count = (counts.get(entry.path) ?? 0) + 1;
    counts.set(entry.path, count);
    rec.count = count;

    const limit = shapeOptions?.maxResponses;
    if (limit !== undefined) {
      if (serving >= limit.limit) {
        rec.limited = true;
        const h: Record<string, string> = {};
        if (limit.retryAfter !== undefined) h['Retry-After'] = limit.retryAfter;
        const status = limit.status ?? 503;
        sendSimple(res, rec, status, head, `limited ${status}\n`, h);
        return;
      }
      serving += 1;
      if (serving > maxServing) maxServing = serving;
      res.once('close', () => {
        serving -= 1;
      });
    }
    let fault: Fault | undefined;
    if (rule !== undefined) {
      fault = rule({
        method,
        path: entry.path,
        range:
          parsed.kind === 'range'
            ? { start: parsed.start, end: parsed.end, length: parsed.end - parsed.start + 1 }
            : undefined,
        headers: rec.headers,
        count,
      });
      if (fault !== undefined) rec.fault = fault;
    }
    const f: Fault = fault ?? {};
    const shape = shapeOptions;

    // time to first byte
    const delay = (shape?.ttfbMs ?? 0) + (f.delayMs ?? 0);
    if (delay > 0) await sleep(delay, st);
    if (f.until !== undefined) await Promise.race([f.until, new Promise<void>((r) => st.onClose(r))]);
    if (st.closed) return;

    if (f.dropConnection === true) {
      rec.reset = true;
      req.socket.destroy();
      return;
    }

    const extra = f.headers;
    if (f.status !== undefined) {
      const h: Record<string, string> = { ...extra };
      if (f.retryAfter !== undefined) h['Retry-After'] = f.retryAfter;
      if (f.contentRange !== undefined) h['Content-Range'] = f.contentRange;
      sendSimple(res, rec, f.status, head, f.body ?? `fault ${f.status}\n`, h);
      return;
    }

    const etag = f.etag === undefined ? entry.etag : f.etag;
    const lastModified = f.lastModified === undefined ? entry.lastModified : f.lastModified;
    const lmSec = parseDate(lastModified ?? undefined);
    const current = etag === null ? undefined : parseEtag(etag);

    const setValidators = (): void => {
      if (etag !== null) res.setHeader('ETag', etag);
      if (lastModified !== null) res.setHeader('Last-Modified', lastModified);
      if (entry.cacheControl !== null) res.setHeader('Cache-Control', entry.cacheControl);
    };

    // conditionals (RFC 9110 §13.2.2)
    let honourRange = entry.acceptRanges && f.ignoreRange !== true && !head;
    if (f.ignoreConditionals !== true) {
      const ifMatch = rec.headers['if-match'];
      const ifUnmodified = rec.headers['if-unmodified-since'];
      if (ifMatch !== undefined) {
        const list = parseEtagList(ifMatch);
        const ok = list === '*' ? true : current !== undefined && list.some((t) => strongMatch(t, current));
        if (!ok) return precondition(412);
      } else if (ifUnmodified !== undefined) {
        const since = parseDate(ifUnmodified);
        if (since !== undefined && lmSec !== undefined && lmSec > since) return precondition(412);
      }
      const ifNoneMatch = rec.headers['if-none-match'];
      const ifModified = rec.headers['if-modified-since'];
      if (ifNoneMatch !== undefined) {
        const list = parseEtagList(ifNoneMatch);
        const matches = list === '*' ? true : current !== undefined && list.some((t) => weakMatch(t, current));
        if (matches) return precondition(304);
      } else if (ifModified !== undefined) {
        const since = parseDate(ifModified);
        if (since !== undefined && lmSec !== undefined && lmSec <= since) return precondition(304);
      }
      const ifRange = rec.headers['if-range'];
      if (honourRange && parsed.kind !== 'none' && ifRange !== undefined) {
        const v = ifRange.trim();
        let ok: boolean;
        if (v.startsWith('"') || v.startsWith('W/')) {
          const tag = parseEtag(v);
          ok = tag !== undefined && current !== undefined && strongMatch(tag, current);
        } else {
          const d = parseDate(v);
          ok = d !== undefined && lmSec !== undefined && d === lmSec;
        }
        if (!ok) honourRange = false;
      }
    }

    function precondition(status: 304 | 412): void {
      setValidators();
      applyExtra();
      if (status === 412) res.setHeader('Content-Length', '0');
      res.writeHead(status);
      rec.status = status;
      res.end();
    }

    function applyExtra(): void {
      if (extra !== undefined) for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
    }

    // select what to send
    let status = 200;
    let start = 0;
    let end = entry.size; // exclusive
    if (honourRange && parsed.kind === 'unsatisfiable') {
      setValidators();
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('Content-Range', f.contentRange ?? `bytes */${entry.size}`);
      res.setHeader('Content-Length', '0');
      applyExtra();
      res.writeHead(416);
      rec.status = 416;
      res.end();
      return;
    }
    if (honourRange && parsed.kind === 'range') {
      status = 206;
      start = parsed.start;
      end = parsed.end + 1;
      res.setHeader('Content-Range', `bytes ${parsed.start}-${parsed.end}/${entry.size}`);
    }
    const rangeLen = end - start;

    // body length adjustments
    let bodyLen = rangeLen;
    let lengthKnown = true;
    if (f.shortAfterBytes !== undefined && f.shortAfterBytes < bodyLen) {
      bodyLen = Math.max(0, f.shortAfterBytes);
      lengthKnown = false;
    }
    if (f.extraBytes !== undefined && f.extraBytes > 0) {
      bodyLen += f.extraBytes;
      lengthKnown = false;
    }

    res.setHeader('Content-Type', entry.contentType);
    if (entry.acceptRanges) res.setHeader('Accept-Ranges', 'bytes');
    setValidators();
    if (f.contentRange !== undefined) res.setHeader('Content-Range', f.contentRange);
    if (f.contentLength !== undefined) {
      if (f.contentLength !== null) {
        res.setHeader('Content-Length', String(f.contentLength));
        if (f.contentLength !== (head ? rangeLen : bodyLen)) res.setHeader('Connection', 'close');
      }
    } else if (lengthKnown || head) {
      res.setHeader('Content-Length', String(rangeLen));
    }
    for (const kind of entry.digests) {
      const [name, value] = digestHeader(kind, entry.whole, () => entry.whole().subarray(start, end));
      res.setHeader(name, value);
    }
    applyExtra();
    res.writeHead(status);
    rec.status = status;
    if (head || bodyLen === 0) {
      if (f.resetAfterBytes === 0 && !head) {
        await flushed(res, st);
        rec.reset = true;
        req.socket.destroy();
        return;
      }
      res.end();
      return;
    }

    // pacing and stalls
    const rates = [f.bytesPerSecond, shape?.bytesPerSecond].filter(
      (r): r is number => r !== undefined && r > 0 && Number.isFinite(r),
    );
    const rate = rates.length > 0 ? Math.min(...rates) : undefined;
    const slice = rate === undefined ? sliceBytes : Math.min(sliceBytes, Math.max(256, Math.floor(rate / 50)));
    const burst = rate === undefined ? 0 : Math.max(slice, rate * 0.05);
    let tokens = slice;
    let lastRefill = performance.now();

    let stallAt: number | undefined;
    let stallMs = Infinity;
    if (f.stallAfterBytes !== undefined) {
      stallAt = f.stallAfterBytes;
      stallMs = f.stallMs ?? Infinity;
    } else if (shape?.stragglers !== undefined && method === 'GET') {
      const s = shape.stragglers;
      const seq = stragglerSeq++;
      if (s.fraction > 0 && hash32(s.seed ?? 1, seq) / 0x1_0000_0000 < s.fraction) {
        rec.straggler = true;
        stallAt = Math.floor(bodyLen * Math.min(1, Math.max(0, s.afterFraction ?? 0.5)));
        stallMs = s.stallMs;
      }
    }
    const resetAt = f.resetAfterBytes;

    let sent = 0;
    let stalled = false;
    while (sent < bodyLen && !st.closed) {
      if (stallAt !== undefined && !stalled && sent >= stallAt) {
        stalled = true;
        await flushed(res, st);
        await sleep(stallMs, st);
        if (st.closed) break;
        tokens = slice;
        lastRefill = performance.now();
      }
      if (resetAt !== undefined && sent >= resetAt) break;
      let n = Math.min(slice, bodyLen - sent);
      if (stallAt !== undefined && !stalled && stallAt > sent) n = Math.min(n, stallAt - sent);
      if (resetAt !== undefined) n = Math.min(n, resetAt - sent);
      if (rate !== undefined) {
        const now = performance.now();
        tokens = Math.min(burst, tokens + ((now - lastRefill) * rate) / 1000);
        lastRefill = now;
        if (tokens < n) {
          await sleep(((n - tokens) * 1000) / rate, st);
          if (st.closed) break;
          const now2 = performance.now();
          tokens = Math.min(burst, tokens + ((now2 - lastRefill) * rate) / 1000);
          lastRefill = now2;
        }
        tokens -= n;
      }
      const link = shape?.linkBytesPerSecond;
      if (link !== undefined && link > 0 && Number.isFinite(link)) {
        // The shared link: this slice leaves once everything written before it has (a burst of 50 ms at most).
        const now = performance.now();
        linkFreeAt = Math.max(linkFreeAt, now - 50) + (n * 1000) / link;
        if (linkFreeAt > now) await sleep(linkFreeAt - now, st);
        if (st.closed) break;
      }
      let chunk = chunkAt(entry, start + sent, n);
      const corrupt = f.corruptByteAt === undefined ? -1 : f.corruptByteAt - (start + sent);
      if (corrupt >= 0 && corrupt < n) {
        chunk = chunk.slice();
        chunk[corrupt] = (chunk[corrupt] as number) ^ 0xff;
      }
      const ok = res.write(chunk);
      sent += n;
      rec.bytesSent = sent;
      totalBytesSent += n;
      if (!ok) await waitDrain(res, st);
    }
    if (st.closed) return;
    if (resetAt !== undefined && resetAt < bodyLen) {
      await flushed(res, st);
      rec.reset = true;
      req.socket.destroy();
      return;
    }
    res.end();
  }

  // --- dispatch --------------------------------------------------------------

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';
    const headers = headerRecord(req);
    const rec: RequestRecord = {
      id: ++requestSeq,
      method,
      path,
      url: rawUrl,
      headers,
      status: 0,
      bytesSent: 0,
      aborted: false,
      reset: false,
      count: 0,
      startedAt: performance.now(),
    };
    if (headers.range !== undefined) rec.range = headers.range;
    requests.push(rec);
    req.resume();
    res.on('error', () => {});
    const st = new ResponseState(res);
    res.once('close', () => {
      rec.endedAt = performance.now();
      if (!res.writableFinished && !rec.reset) rec.aborted = true;
    });
    applyCors(res);

    if (method === 'OPTIONS') return handleOptions(req, res, rec);

    const d = dirs.find((x) => path.startsWith(x.prefix));
    if (d !== undefined && (method === 'GET' || method === 'HEAD')) {
      void handleStatic(req, res, rec, d.prefix, d.dir, path).catch(() => {
        if (!res.headersSent) sendSimple(res, rec, 500, method === 'HEAD');
        else res.destroy();
      });
      return;
    }

    const entry = objects.get(path);
    if (entry === undefined) return sendSimple(res, rec, 404, method === 'HEAD', 'not found\n');
    if (method !== 'GET' && method !== 'HEAD') {
      return sendSimple(res, rec, 405, false, 'method not allowed\n', { Allow: 'GET, HEAD, OPTIONS' });
    }

    inFlight += 1;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    res.once('close', () => {
      inFlight -= 1;
      notifyIdle();
    });
    handleObject(req, res, rec, entry, st).catch(() => {
      if (!res.headersSent && !res.destroyed) sendSimple(res, rec, 500, method === 'HEAD');
      else res.destroy();
    });
  }

  // --- server ------------------------------------------------------------------

  const server: Server = createServer({ keepAlive: true, noDelay: true }, onRequest);
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
  const port = addr.port;
  const originUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const api: Origin = {
    port,
    origin: originUrl,
    url(path: string): string {
      return `${originUrl}${path.startsWith('/') ? '' : '/'}${path}`;
    },
    put(path: string, spec: OriginObjectSpec): OriginObject {
      const prev = objects.get(path);
      const entry = makeEntry(path, spec, (prev?.revision ?? 0) + 1);
      objects.set(path, entry);
      return entry.object;
    },
    get(path: string): OriginObject | undefined {
      return objects.get(path)?.object;
    },
    remove(path: string): void {
      objects.delete(path);
    },
    fault(path: string, rule: FaultRule | undefined): void {
      counts.set(path, 0);
      if (rule === undefined) rules.delete(path);
      else rules.set(path, rule);
    },
    shape(opts: ShapeOptions | undefined): void {
      shapeOptions = opts;
      stragglerSeq = 0;
    },
    cors(opts: CorsOptions | undefined): void {
      corsOptions = opts;
    },
    serveDir(prefix: string, dir: string): void {
      const p = prefix.startsWith('/') ? prefix : `/${prefix}`;
      const i = dirs.findIndex((x) => x.prefix === p);
      if (i !== -1) dirs.splice(i, 1);
      dirs.push({ prefix: p, dir: resolve(dir) });
      dirs.sort((a, b) => b.prefix.length - a.prefix.length);
    },
    requests,
    requestsTo(path: string): RequestRecord[] {
      return requests.filter((r) => r.path === path);
    },
    get inFlight(): number {
      return inFlight;
    },
    get maxInFlight(): number {
      return maxInFlight;
    },
    get maxServing(): number {
      return maxServing;
    },
    get openSockets(): number {
      return sockets.size;
    },
    get bytesSent(): number {
      return totalBytesSent;
    },
    resetStats(): void {
      requests.length = 0;
      maxInFlight = inFlight;
      maxServing = serving;
      totalBytesSent = 0;
    },
    whenIdle(timeoutMs = 5000): Promise<void> {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolveIdle, reject) => {
        const waiter = (): void => {
          cancel(t);
          resolveIdle();
        };
        const t = later(timeoutMs, () => {
          idleWaiters.delete(waiter);
          reject(new Error(`origin not idle after ${timeoutMs} ms (inFlight=${inFlight})`));
        });
        idleWaiters.add(waiter);
      });
    },
    close(): Promise<void> {
      if (closePromise !== undefined) return closePromise;
      const open = [...sockets];
      const socketsClosed = open.map((s) => new Promise<void>((r) => s.once('close', () => r())));
      closePromise = new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
        for (const s of open) s.destroy();
        for (const t of timers) clearTimeout(t);
        timers.clear();
      }).then(async () => {
        // the server's 'close' can precede the sockets' own 'close' events
        await Promise.all(socketsClosed);
        for (const t of timers) clearTimeout(t);
        timers.clear();
      });
      return closePromise;
    },
  };
  return api;
}
