// The extension manifest (package.json) as VS Code and the Marketplace read it: keybindings
// that shadow none of VS Code 1.100's defaults on Linux, Windows or macOS; a walkthrough and
// welcome content whose links and media all resolve; per-machine path settings that a
// repository cannot set in Restricted Mode; the engine on the machine with the files.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS, VIEWS } from '../../src/extension/commands';

const ROOT = path.join(__dirname, '..', '..');
const KEYS = path.join(__dirname, '..', 'fixtures', 'vscode-keybindings');

interface Manifest {
	icon: string;
	extensionKind: string[];
	capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations?: string[] } };
	contributes: {
		commands: { command: string; title: string; category?: string }[];
		configuration: { properties: Record<string, { scope?: string }> };
		keybindings: { command: string; key: string; mac?: string; win?: string; linux?: string; when?: string }[];
		menus: Record<string, { command: string }[]>;
		viewsWelcome: { view: string; contents: string }[];
		views: Record<string, { id: string }[]>;
		walkthroughs: {
			id: string;
			steps: { id: string; description: string; media: { image?: string; markdown?: string; svg?: string; altText?: string }; completionEvents?: string[] }[];
		}[];
	};
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
/** VS Code's own commands the manifest links to. */
const WORKBENCH_COMMANDS = new Set(['workbench.action.openSettings']);

type System = 'linux' | 'win32' | 'darwin';
const SYSTEMS: System[] = ['linux', 'win32', 'darwin'];
const MODIFIER_ORDER = ['ctrl', 'shift', 'alt', 'cmd', 'meta', 'win'];

/** A key sequence with each chord part's modifiers in one order, so `alt+cmd+i` and `cmd+alt+i` compare equal. */
function normalize(key: string): string {
	return key
		.toLowerCase()
		.split(' ')
		.filter(Boolean)
		.map((part) => {
			const pieces = part.split('+');
			const base = pieces.pop()!;
			return [...pieces.sort((a, b) => MODIFIER_ORDER.indexOf(a) - MODIFIER_ORDER.indexOf(b)), base].join('+');
		})
		.join(' ');
}

/** VS Code 1.100.3's default keybindings on `system`: the web workbench's (dumped from code-server) plus the desktop app's own. */
function defaults(system: System): { key: string; command: string }[] {
	const web = JSON.parse(fs.readFileSync(path.join(KEYS, `1.100.3-${system}.json`), 'utf8')) as { system: string; bindings: [string, string, string][] };
	assert.equal(web.system, system);
	const desktop = JSON.parse(fs.readFileSync(path.join(KEYS, '1.100.3-desktop-only.json'), 'utf8')) as { bindings: Record<System, [string, string, string][]> };
	return [...web.bindings, ...desktop.bindings[system]].map(([key, command]) => ({ key: normalize(key), command }));
}

function ourKey(binding: Manifest['contributes']['keybindings'][number], system: System): string {
	const own = system === 'darwin' ? binding.mac : system === 'win32' ? binding.win : binding.linux;
	return normalize(own ?? binding.key);
}

/** `command:` links in markdown, with their (URI-encoded JSON) arguments. */
function commandLinks(markdown: string): { command: string; args?: unknown }[] {
	return [...markdown.matchAll(/\(command:([\w.]+)(?:\?([^)\s]+))?\)/g)].map((m) => ({ command: m[1]!, ...(m[2] ? { args: JSON.parse(decodeURIComponent(m[2])) as unknown } : {}) }));
}

describe('extension manifest', () => {
	for (const system of SYSTEMS) {
		it(`keybindings shadow none of VS Code 1.100's defaults on ${system}`, () => {
			const theirs = defaults(system);
			assert.ok(theirs.length > 900, 'the dumps hold the full default set');
			assert.ok(
				theirs.some((b) => b.key === normalize(system === 'darwin' ? 'ctrl+cmd+i' : 'ctrl+alt+i') && b.command === 'workbench.action.chat.open'),
				'the dump knows the Chat shortcut the old Ctrl+Alt+I hid',
			);
			for (const binding of manifest.contributes.keybindings) {
				const key = ourKey(binding, system);
				const same = theirs.filter((b) => b.key === key);
				assert.deepEqual(
					same.map((b) => b.command),
					[],
					`${key} (${binding.command}) is VS Code's already`,
				);
				const parts = key.split(' ');
				if (parts.length === 1) {
					assert.ok(!theirs.some((b) => b.key.startsWith(`${key} `)), `${key} would cut off VS Code's chords starting with it`);
				} else {
					// A chord must start with a key VS Code itself starts chords with in the editor, so it changes
					// nothing about that key (on macOS Cmd+K alone clears the terminal, and VS Code's Cmd+K chords live beside it).
					assert.ok(
						theirs.some((b) => b.key.startsWith(`${parts[0]} `)),
						`${parts[0]} is no chord prefix of VS Code's`,
					);
				}
				if (system === 'win32') {
					// Ctrl+Alt is AltGr on many Windows keyboard layouts: it types characters.
					assert.ok(!parts.some((p) => /(^|\+)ctrl\+(shift\+)?alt\+[a-z0-9]$/.test(p)), `${key}: Ctrl+Alt+key types a character with AltGr on Windows`);
				}
				assert.ok(contributed.has(binding.command), `${binding.command} is a contributed command`);
			}
		});
	}

	it('the walkthrough and the welcome content link only to commands that exist, with media in the repository', () => {
		const [walkthrough] = manifest.contributes.walkthroughs;
		assert.ok(walkthrough);
		assert.deepEqual(
			walkthrough.steps.map((s) => s.id),
			['inspectDemo', 'openDashboard', 'steer', 'trainSae', 'realModel'],
		);
		const markdown = [...walkthrough.steps.map((s) => s.description), ...manifest.contributes.viewsWelcome.map((w) => w.contents)];
		for (const text of markdown) {
			const links = commandLinks(text);
			assert.ok(links.length > 0, `no button in: ${text}`);
			for (const { command } of links) assert.ok(contributed.has(command) || WORKBENCH_COMMANDS.has(command), `${command} is not a command`);
		}
		for (const step of walkthrough.steps) {
			const file = step.media.image ?? step.media.markdown ?? step.media.svg;
			assert.ok(file && fs.existsSync(path.join(ROOT, file)), `${step.id}: media ${file}`);
			if (step.media.image) assert.ok(step.media.altText, `${step.id}: an image needs alt text`);
			for (const event of step.completionEvents ?? []) {
				const [kind, what] = event.split(':') as [string, string];
				if (kind === 'onCommand') assert.ok(contributed.has(what), event);
				else if (kind === 'onSettingChanged') assert.ok(what in manifest.contributes.configuration.properties, event);
				else assert.fail(`unexpected completion event ${event}`);
			}
		}
		const views = new Set(
			Object.values(manifest.contributes.views)
				.flat()
				.map((v) => v.id),
		);
		for (const w of manifest.contributes.viewsWelcome) assert.ok(views.has(w.view), w.view);
	});

	it('path settings are per machine, and a workspace in Restricted Mode cannot set them', () => {
		const properties = manifest.contributes.configuration.properties;
		const paths = ['featureLens.model', 'featureLens.sae', 'featureLens.transcoders', 'featureLens.hub.cacheDir'];
		for (const key of paths) assert.equal(properties[key]?.scope, 'machine-overridable', key);
		const trust = manifest.capabilities.untrustedWorkspaces;
		assert.equal(trust.supported, 'limited');
		assert.deepEqual(trust.restrictedConfigurations, paths);
		// The engine runs where the workspace's files (and GPU) are, also over Remote SSH, WSL and in containers.
		assert.deepEqual(manifest.extensionKind, ['workspace']);
	});

	it('the extension registers the commands and views package.json contributes, under the ids it contributes them by', () => {
		assert.deepEqual(new Set(Object.values(COMMANDS)), contributed);
		assert.deepEqual(
			new Set(Object.values(VIEWS)),
			new Set(
				Object.values(manifest.contributes.views)
					.flat()
					.map((v) => v.id),
			),
		);
	});

	it('every command has the Feature Lens category, and menus name contributed commands', () => {
		for (const c of manifest.contributes.commands) assert.equal(c.category, 'Feature Lens', c.command);
		for (const [menu, items] of Object.entries(manifest.contributes.menus)) for (const item of items) assert.ok(contributed.has(item.command), `${menu}: ${item.command}`);
	});

	it('the icon is a PNG of at least 128 × 128 pixels, as the Marketplace asks', () => {
		const png = fs.readFileSync(path.join(ROOT, manifest.icon));
		assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
		const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
		assert.ok(width >= 128 && width === height, `${width} × ${height}`);
	});
});
