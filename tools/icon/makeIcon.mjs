// The marketplace icon: media/icon.svg (the source, written here) and media/icon.png (what vsce
// needs, 256 × 256), rendered by Debian's Chromium through playwright-core. A lens over a grid
// of SAE features on tokens: most cells dark, a sparse few firing in the highlight colours the
// editor uses (contributes.colors), larger and brighter under the lens.
//   node tools/icon/makeIcon.mjs        (CHROMIUM overrides /usr/bin/chromium)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIZE = 256;
const N = 7;
const CELL = 22;
const PITCH = 28;
const START = (SIZE - (N * PITCH - (PITCH - CELL))) / 2;
/** Firing cells: [row, column, level 1–5]; the rest are dark. */
const FIRING = [
	[0, 5, 2],
	[1, 1, 3],
	[1, 2, 5],
	[2, 2, 4],
	[2, 4, 1],
	[3, 1, 2],
	[3, 6, 3],
	[4, 3, 2],
	[5, 0, 1],
	[5, 5, 4],
	[6, 2, 2],
	[6, 6, 1],
];
const LEVELS = ['#FFE27A', '#FFCF4A', '#FFB300', '#FF9A00', '#FF7A00'];
const DARK = '#27324d';
const LENS = { x: START + 2 * PITCH + CELL / 2 - 8, y: START + 2 * PITCH + CELL / 2 - 8, r: 60 };
const MAGNIFY = 1.5;

function cells(brighter) {
	const out = [];
	for (let r = 0; r < N; r++) {
		for (let c = 0; c < N; c++) {
			const firing = FIRING.find(([fr, fc]) => fr === r && fc === c);
			const fill = firing ? LEVELS[Math.min(4, firing[2] - 1 + (brighter ? 1 : 0))] : brighter ? '#34426a' : DARK;
			out.push(`<rect x="${START + c * PITCH}" y="${START + r * PITCH}" width="${CELL}" height="${CELL}" rx="5" fill="${fill}"/>`);
		}
	}
	return out.join('');
}

const { x, y, r } = LENS;
const handle = { x1: x + r * 0.74, y1: y + r * 0.74, x2: x + r * 1.75, y2: y + r * 1.75 };
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">
<defs>
<linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1d2740"/><stop offset="1" stop-color="#0c111e"/></linearGradient>
<radialGradient id="glass" cx="0.35" cy="0.3" r="0.9"><stop offset="0" stop-color="#ffffff" stop-opacity="0.22"/><stop offset="0.6" stop-color="#ffffff" stop-opacity="0.04"/><stop offset="1" stop-color="#ffffff" stop-opacity="0"/></radialGradient>
<clipPath id="lens"><circle cx="${x}" cy="${y}" r="${r}"/></clipPath>
</defs>
<rect width="${SIZE}" height="${SIZE}" rx="56" fill="url(#bg)"/>
<g>${cells(false)}</g>
<circle cx="${x}" cy="${y}" r="${r}" fill="#0c111e"/>
<g clip-path="url(#lens)"><g transform="translate(${x} ${y}) scale(${MAGNIFY}) translate(${-x} ${-y})">${cells(true)}</g><circle cx="${x}" cy="${y}" r="${r}" fill="url(#glass)"/></g>
<!-- A halo in the background colour keeps the lens and handle clear of the cells they cross. -->
<line x1="${handle.x1}" y1="${handle.y1}" x2="${handle.x2}" y2="${handle.y2}" stroke="#0c111e" stroke-width="36" stroke-linecap="round"/>
<circle cx="${x}" cy="${y}" r="${r}" fill="none" stroke="#0c111e" stroke-width="25"/>
<line x1="${handle.x1}" y1="${handle.y1}" x2="${handle.x2}" y2="${handle.y2}" stroke="#e9edf5" stroke-width="24" stroke-linecap="round"/>
<circle cx="${x}" cy="${y}" r="${r}" fill="none" stroke="#e9edf5" stroke-width="13"/>
</svg>
`;
fs.writeFileSync(path.join(root, 'media', 'icon.svg'), svg);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
	const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE }, deviceScaleFactor: 1 });
	await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
	await page.locator('svg').screenshot({ path: path.join(root, 'media', 'icon.png'), omitBackground: true });
} finally {
	await browser.close();
}
