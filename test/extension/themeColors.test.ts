// The highlight colours (contributes.colors) in each default theme kind: text on the
// strongest level stays readable (WCAG AA, 4.5:1 against the editor foreground) and each level
// stands out from the editor background more than the one below it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LEVELS } from '../../src/extension/inspection/highlights';

type ThemeKind = 'light' | 'dark' | 'highContrast' | 'highContrastLight';

// editor.background and editor.foreground of VS Code's default theme of each kind
// (Light Modern, Dark Modern, High Contrast, High Contrast Light).
const THEMES: Record<ThemeKind, { background: string; foreground: string }> = {
	light: { background: '#FFFFFF', foreground: '#3B3B3B' },
	dark: { background: '#1F1F1F', foreground: '#CCCCCC' },
	highContrast: { background: '#000000', foreground: '#FFFFFF' },
	highContrastLight: { background: '#FFFFFF', foreground: '#292929' },
};

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
	contributes: { colors: { id: string; defaults: Record<ThemeKind, string> }[] };
};

function parse(hex: string): { rgb: number[]; alpha: number } {
	const h = hex.replace('#', '');
	return { rgb: [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)), alpha: h.length === 8 ? parseInt(h.slice(6, 8), 16) / 255 : 1 };
}

/** WCAG relative luminance of an sRGB colour (0–255 channels). */
function luminance(rgb: number[]): number {
	const lin = rgb.map((c) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
	return 0.2126 * lin[0]! + 0.7152 * lin[1]! + 0.0722 * lin[2]!;
}

function contrast(a: number[], b: number[]): number {
	const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
	return (hi! + 0.05) / (lo! + 0.05);
}

describe('highlight colours', () => {
	const levels = Array.from({ length: LEVELS }, (_, i) => manifest.contributes.colors.find((c) => c.id === `featureLens.activation${i + 1}`));

	it('one colour per level, with a default for every theme kind', () => {
		for (const level of levels) {
			assert.ok(level, 'a level has no contributed colour');
			for (const kind of Object.keys(THEMES) as ThemeKind[]) assert.match(level.defaults[kind], /^#[0-9A-F]{8}$/i);
		}
	});

	for (const [kind, theme] of Object.entries(THEMES) as [ThemeKind, (typeof THEMES)[ThemeKind]][]) {
		it(`${kind}: text stays readable on every level, and the levels get stronger`, () => {
			const background = parse(theme.background).rgb;
			const foreground = parse(theme.foreground).rgb;
			let previous = 1;
			for (const [i, level] of levels.entries()) {
				const { rgb, alpha } = parse(level!.defaults[kind]);
				// The decoration is drawn over the editor background.
				const shown = rgb.map((c, j) => alpha * c + (1 - alpha) * background[j]!);
				const readable = contrast(shown, foreground);
				assert.ok(readable >= 4.5, `${kind} level ${i + 1}: text contrast ${readable.toFixed(2)} < 4.5`);
				const standsOut = contrast(shown, background);
				assert.ok(standsOut > previous, `${kind} level ${i + 1} (${standsOut.toFixed(2)}) does not stand out more than level ${i} (${previous.toFixed(2)})`);
				previous = standsOut;
			}
		});
	}
});
