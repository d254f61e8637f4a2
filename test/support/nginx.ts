/**
 * A real nginx origin for the tests: static files with nginx's own strong ETags
 * (`"mtime-size"`), If-Match, If-Range and ranges. Started on a free loopback port with a
 * configuration of its own in a temporary folder; no gzip (it makes ETags weak and turns ranges
 * off).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
	root: string;
	url(path: string): string;
	stop(): Promise<void>;
}

const candidates = [process.env.NGINX_PATH, '/usr/sbin/nginx', '/usr/bin/nginx'];

export function nginxPath(): string | undefined {
	return candidates.find((path): path is string => path !== undefined && existsSync(path));
}

async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
	for (let attempt = 0; attempt < 100; attempt++) {
		if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
		try {
			await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
			return;
		} catch {
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}
	throw new Error('nginx did not start listening');
}

export async function startNginx(binary: string): Promise<Nginx> {
	const root = await mkdtemp(join(tmpdir(), 'pgs-nginx-'));
	const port = await freePort();
	const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	gzip off;
	sendfile on;
	keepalive_requests 10000;
	client_body_temp_path ${root}/tmp;
	proxy_temp_path ${root}/tmp;
	fastcgi_temp_path ${root}/tmp;
	uwsgi_temp_path ${root}/tmp;
	scgi_temp_path ${root}/tmp;
	types { application/octet-stream bin; }
	server {
		listen 127.0.0.1:${port};
		root ${root}/files;
	}
}
`;
	await writeFile(join(root, 'nginx.conf'), config);
	await mkdir(join(root, 'files'));
	await mkdir(join(root, 'tmp'));
	const child = spawn(binary, ['-p', root, '-c', join(root, 'nginx.conf'), '-e', join(root, 'error.log')], { stdio: 'ignore' });
	await waitForPort(port, child);
	return {
		root: join(root, 'files'),
		url: (path) => `http://127.0.0.1:${port}${path}`,
		stop: async () => {
			if (child.exitCode === null) {
				const exited = new Promise((resolve) => child.once('exit', resolve));
				child.kill('SIGTERM');
				await exited;
			}
			await rm(root, { recursive: true, force: true });
		},
	};
}
