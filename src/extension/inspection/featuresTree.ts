// The "Features" tree view: the loaded model and SAE, then the features active in the last
// inspection, strongest first; clicking one re-colours the text by it.

import * as vscode from 'vscode';
import type { InspectResult, ModelInfo, SaeInfo } from '../../protocol/engineProtocol';
import { COMMANDS } from '../commands';
import type { Loaded } from '../modelSession';
import { summarizeFeatures } from './highlights';
import type { FeatureSummary } from './highlights';

type Node = { kind: 'model'; model: ModelInfo; sae?: SaeInfo } | { kind: 'feature'; feature: FeatureSummary } | { kind: 'hint'; text: string };

export class FeaturesTreeProvider implements vscode.TreeDataProvider<Node> {
	private readonly changed = new vscode.EventEmitter<void>();
	readonly onDidChangeTreeData = this.changed.event;
	private loaded: Loaded | undefined;
	private features: FeatureSummary[] = [];
	private labels: Record<number, string> = {};

	/** What the model session has loaded (nothing, once the engine stopped). */
	setLoaded(loaded: Loaded | undefined): void {
		this.loaded = loaded;
		this.changed.fire();
	}

	setInspection(result: InspectResult | undefined): void {
		this.features = result ? summarizeFeatures(result).slice(0, 200) : [];
		this.labels = result?.labels ?? {};
		this.changed.fire();
	}

	getChildren(): Node[] {
		// Empty until something is loaded, so the view shows its welcome content (contributes.viewsWelcome).
		if (!this.loaded && this.features.length === 0) return [];
		const nodes: Node[] = [];
		if (this.loaded) nodes.push({ kind: 'model', ...this.loaded });
		if (this.features.length === 0) nodes.push({ kind: 'hint', text: 'Select text and run "Feature Lens: Inspect Selection"' });
		for (const feature of this.features) nodes.push({ kind: 'feature', feature });
		return nodes;
	}

	getTreeItem(node: Node): vscode.TreeItem {
		if (node.kind === 'hint') {
			const item = new vscode.TreeItem(node.text);
			item.iconPath = new vscode.ThemeIcon('info');
			return item;
		}
		if (node.kind === 'model') {
			const item = new vscode.TreeItem(node.model.name);
			item.description = node.sae ? `${node.sae.architecture} · ${node.sae.dSae} features @ ${node.sae.hookName}` : 'no SAE loaded';
			item.tooltip = `${node.model.modelType}, ${node.model.nLayers} layers, d_model ${node.model.dModel}${node.sae ? `\nSAE: ${node.sae.source}` : ''}`;
			item.iconPath = new vscode.ThemeIcon('symbol-class');
			return item;
		}
		const { feature } = node;
		const label = this.labels[feature.featureIndex];
		const item = new vscode.TreeItem(`Feature ${feature.featureIndex}${label ? ` · ${label}` : ''}`);
		item.description = `max ${feature.max.toFixed(2)} · ${feature.tokens} token${feature.tokens === 1 ? '' : 's'}`;
		item.iconPath = new vscode.ThemeIcon('symbol-event');
		// Menus (package.json view/item/context) offer the dashboard on feature items.
		item.contextValue = 'feature';
		item.command = { command: COMMANDS.focusFeature, title: 'Colour by this feature', arguments: [feature.featureIndex] };
		return item;
	}
}
