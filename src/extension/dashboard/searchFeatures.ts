// "Feature Lens: Search Features": a quick pick that asks the engine for features by label or
// number as you type (debounced, stale answers dropped), plus an entry that finds the features
// firing on the editor's selection or on the typed text. Choosing a feature opens its dashboard.

import * as vscode from 'vscode';
import { SearchFeaturesRequest } from '../../protocol/featureProtocol';
import type { FeatureSearchHit, FeatureSearchParams } from '../../protocol/featureProtocol';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { errorMessage } from '../../protocol/errors';
import { describeHit, searchPlan } from './searchItems';

const DEBOUNCE_MS = 200;
const LIMIT = 50;
/** Longest selection sent for a "fires on this text" search. */
const MAX_TEXT = 4000;

interface Item extends vscode.QuickPickItem {
	featureIndex?: number;
	/** Search for features that fire on this text. */
	text?: string;
}

export async function searchFeatures(engine: EngineProcess, session: ModelSession, open: (featureIndex: number) => void): Promise<void> {
	const loaded = await session.ensureReady();
	const search = (params: FeatureSearchParams, token?: vscode.CancellationToken) => engine.request(SearchFeaturesRequest, params, token);
	const editor = vscode.window.activeTextEditor;
	const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).slice(0, MAX_TEXT) : '';
	const pick = vscode.window.createQuickPick<Item>();
	pick.title = `Feature Lens: Search Features (${loaded.sae.dSae.toLocaleString('en-US')} at ${loaded.sae.hookName})`;
	pick.placeholder = 'A label or a feature number; or choose "fires on…" to find features by text';
	pick.matchOnDescription = true;
	pick.matchOnDetail = true;
	const fixed = (value: string): Item[] => {
		const items: Item[] = [];
		if (selection) items.push({ label: '$(selection) Features that fire on the selection', detail: oneLine(selection), text: selection, alwaysShow: true });
		const plan = searchPlan(value);
		if (plan.textItem) items.push({ label: `$(search) Features that fire on “${oneLine(value)}”`, text: value, alwaysShow: true });
		return items;
	};
	let timer: NodeJS.Timeout | undefined;
	let inFlight: vscode.CancellationTokenSource | undefined;
	let hits: Item[] = [];
	const refresh = (value: string) => {
		pick.items = [...fixed(value), ...(hits.length ? [{ label: 'features', kind: vscode.QuickPickItemKind.Separator } as Item] : []), ...hits];
	};
	const query = (value: string) => {
		clearTimeout(timer);
		inFlight?.cancel();
		const plan = searchPlan(value);
		if (!plan.query) {
			hits = [];
			refresh(value);
			return;
		}
		timer = setTimeout(() => {
			const source = new vscode.CancellationTokenSource();
			inFlight = source;
			pick.busy = true;
			search({ query: plan.query, limit: LIMIT }, source.token)
				.then(
					(found) => {
						if (source.token.isCancellationRequested) return;
						hits = found.map((h) => toItem(h));
						if (hits.length === 0) hits = [{ label: `No feature label matches “${oneLine(value)}”`, alwaysShow: true }];
						refresh(value);
					},
					(err: unknown) => {
						if (source.token.isCancellationRequested) return;
						hits = [{ label: `$(error) ${errorMessage(err)}`, alwaysShow: true }];
						refresh(value);
					},
				)
				.finally(() => {
					if (inFlight === source) pick.busy = false;
				});
		}, DEBOUNCE_MS);
	};
	pick.onDidChangeValue(query);
	refresh('');
	const chosen = await new Promise<Item | undefined>((resolve) => {
		pick.onDidAccept(() => {
			const item = pick.selectedItems[0];
			if (item && (item.featureIndex !== undefined || item.text !== undefined)) resolve(item);
		});
		pick.onDidHide(() => resolve(undefined));
		pick.show();
	});
	clearTimeout(timer);
	inFlight?.cancel();
	pick.dispose();
	if (!chosen) return;
	if (chosen.featureIndex !== undefined) {
		open(chosen.featureIndex);
		return;
	}
	const text = chosen.text!;
	// Ranked by the engine by max activation on the text; showQuickPick shows its busy state while it runs.
	const cancel = new vscode.CancellationTokenSource();
	const items = search({ text, limit: LIMIT }, cancel.token).then((found) => (found.length ? found.map((h) => toItem(h, 'text')) : [{ label: 'No feature fires on this text' }]));
	const hit = await vscode.window.showQuickPick(
		items,
		{
			title: `Feature Lens: features that fire on “${oneLine(text).slice(0, 60)}”`,
			matchOnDescription: true,
			matchOnDetail: true,
			placeHolder: 'Strongest first',
		},
		cancel.token,
	);
	cancel.dispose();
	if (hit?.featureIndex !== undefined) open(hit.featureIndex);
}

function toItem(hit: FeatureSearchHit, kind: 'label' | 'text' = 'label'): Item {
	const d = describeHit(hit, kind);
	return { label: d.label, description: d.description, detail: d.detail, featureIndex: hit.featureIndex, alwaysShow: true };
}

function oneLine(text: string): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}
