// Webview HTML with a strict Content-Security-Policy: nothing loads but our script (by nonce)
// and our stylesheet, both from the extension's own folders.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

/** Roots a webview may load from: the built webview scripts and the media folder. */
export function webviewRoots(extensionUri: vscode.Uri): vscode.Uri[] {
	return [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

/** `styles` are extra stylesheets built beside the script (e.g. a bundled library's CSS). */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: string, title: string, styles: readonly string[] = []): string {
	const nonce = crypto.randomBytes(16).toString('base64');
	const scriptUri = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', script));
	const styleUri = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
	const csp = [`default-src 'none'`, `style-src ${webview.cspSource}`, `img-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.map((f) => `<link href="${webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', f))}" rel="stylesheet">`).join('\n')}
<link href="${styleUri}" rel="stylesheet">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main id="root"><p>Loading…</p></main>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
