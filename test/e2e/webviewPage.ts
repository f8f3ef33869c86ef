// One webview bundle served alone, as the webview would see it: the document from
// webviewDocument() (CSP with a fresh nonce) at `/`, extra variants of it at their own paths,
// and only dist/webview/ and media/ files besides. For testing a webview in Chromium without
// code-server.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { webviewDocument } from '../../src/extension/webviewDocument';

const ROOT = path.resolve(__dirname, '..', '..');
const SERVED = [path.join(ROOT, 'dist', 'webview') + path.sep, path.join(ROOT, 'media') + path.sep];

export interface WebviewPageOptions {
	/** The bundle's name in dist/webview/, without extension (`dashboard`, `steering`). */
	bundle: string;
	title: string;
	/** Other paths serving the document changed, e.g. `{ '/bare': (html) => html without its CSP }`. */
	variants?: Record<string, (html: string) => string>;
}

export async function serveWebview(options: WebviewPageOptions): Promise<{ base: string; close(): void }> {
	const nonce = crypto.randomBytes(16).toString('base64');
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://x');
		const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const variant = url.pathname === '/' ? (html: string) => html : options.variants?.[url.pathname];
		if (variant) {
			const html = webviewDocument({
				cspSource: origin,
				nonce,
				title: options.title,
				scriptUri: `${origin}/dist/webview/${options.bundle}.js`,
				styleUris: [`${origin}/dist/webview/${options.bundle}.css`, `${origin}/media/panel.css`],
			});
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(variant(html));
			return;
		}
		const file = path.join(ROOT, path.normalize(url.pathname));
		if (!SERVED.some((d) => file.startsWith(d)) || !fs.existsSync(file)) {
			res.writeHead(404).end();
			return;
		}
		res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream' }).end(fs.readFileSync(file));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
