// Webview HTML with a strict Content-Security-Policy: nothing loads but our script (by nonce)
// and our stylesheet, both from the extension's own folders.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { webviewDocument } from './webviewDocument';

/** Roots a webview may load from: the built webview scripts and the media folder. */
export function webviewRoots(extensionUri: vscode.Uri): vscode.Uri[] {
	return [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

/** `styles` are extra stylesheets built beside the script (e.g. a bundled library's CSS). */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: string, title: string, styles: readonly string[] = []): string {
	const asUri = (...segments: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...segments)).toString();
	return webviewDocument({
		cspSource: webview.cspSource,
		nonce: crypto.randomBytes(16).toString('base64'),
		scriptUri: asUri('dist', 'webview', script),
		// Bundled styles first, then the shared panel.css (as before).
		styleUris: [...styles.map((f) => asUri('dist', 'webview', f)), asUri('media', 'panel.css')],
		title,
	});
}
