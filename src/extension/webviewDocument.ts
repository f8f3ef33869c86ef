// The HTML document of every webview, from plain strings (no `vscode` import, so tests build
// exactly what the extension serves): a strict Content-Security-Policy where nothing loads but
// our script (by nonce) and our stylesheets, fonts and images from the extension's own folders.
// The nonce also admits <style> elements that carry it: the webview toolkit (FAST) probes for
// :focus-visible support with one, reading the nonce from <meta property="csp-nonce">; without
// it the probe is a CSP violation and the toolkit falls back to plain :focus rings.

export interface WebviewDocumentParts {
	/** `webview.cspSource`: the origin the webview may load the extension's files from. */
	cspSource: string;
	nonce: string;
	scriptUri: string;
	/** Stylesheets, in order. */
	styleUris: readonly string[];
	title: string;
}

export function webviewDocument(parts: WebviewDocumentParts): string {
	const { cspSource, nonce } = parts;
	const csp = [`default-src 'none'`, `style-src ${cspSource} 'nonce-${nonce}'`, `img-src ${cspSource}`, `font-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta property="csp-nonce" content="${escapeHtml(nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${parts.styleUris.map((uri) => `<link href="${escapeHtml(uri)}" rel="stylesheet">`).join('\n')}
<title>${escapeHtml(parts.title)}</title>
</head>
<body>
<main id="root"><p>Loading…</p></main>
<script nonce="${escapeHtml(nonce)}" src="${escapeHtml(parts.scriptUri)}"></script>
</body>
</html>`;
}

export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
