// "Feature Lens: Trace Completion": the attribution graph of the next token after the selection
// (or the line up to the cursor) with the loaded model and a transcoder set, traced by the engine
// with progress and Cancel, shown in the attribution panel. The panel's actions are answered
// here: re-pruning through the engine's held graph, feature dashboards (the layer's transcoder
// loaded as the SAE), saving Neuronpedia JSON, and steering from pinned features.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AttributeProgressNotification, AttributeRequest, PruneAttributionRequest } from '../../protocol/attributionProtocol';
import { DEFAULT_NODE_THRESHOLD, DEFAULT_EDGE_THRESHOLD } from '../../protocol/attributionPanelMessages';
import { DEMO } from '../../protocol/engineProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import { SteerTokenNotification, SteeredGenerateRequest } from '../../protocol/steerProtocol';
// Free of Node and DOM APIs: Neuronpedia's schema, read and checked, names the bad field.
import { parseGraphJson } from '../../protocol/graphJson';
import type { GraphJson } from '../../protocol/graphJson';
import { COMMANDS, SETTINGS_SECTION } from '../commands';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { runReported } from '../runReported';
import { ATTRIBUTION_VIEW_TYPE, AttributionPanel } from './attributionPanel';
import { restoredGraph } from './attributionPanelMessageGuard';
import type { AttributionBackend } from './attributionPanel';
import { graphFeature, graphSteering, layerTranscoder, withSubgraph } from './graphFeatures';
import { tracePrompt } from './tracePrompt';
import { tokenPicks, tokenTrace } from './traceToken';
import type { TokenTrace, TraceableCompletion } from './traceToken';

/** The `featureLens.transcoders` setting: the transcoder set attribution uses. */
const TRANSCODERS = 'transcoders';
/** Steered completions from the panel: short, greedy-ish and seeded, so baseline and steered differ only by the steering. */
const STEER_SAMPLING = { maxNewTokens: 24, temperature: 0, topP: 1, seed: 0 };

export function registerAttribution(context: vscode.ExtensionContext, engine: EngineProcess, session: ModelSession, log: vscode.LogOutputChannel): void {
	const demoTranscoders = context.asAbsolutePath(path.join('models', 'pycode', 'transcoders'));

	/** The transcoder set: the setting, else the demo model's set for the demo model, else one the user picks (then kept in the setting). */
	const transcoderSet = async (): Promise<string | undefined> => {
		const cfg = vscode.workspace.getConfiguration(SETTINGS_SECTION);
		const set = cfg.get<string>(TRANSCODERS, '').trim();
		if (set) {
			if (!path.isAbsolute(set)) throw new Error(`the featureLens.transcoders setting must be an absolute folder (got ${JSON.stringify(set)})`);
			return set;
		}
		if ((cfg.get<string>('model', '') || DEMO) === DEMO) return demoTranscoders;
		const picked = await vscode.window.showOpenDialog({
			canSelectFolders: true,
			canSelectFiles: false,
			canSelectMany: false,
			title: "Feature Lens: the transcoder set for this model (circuit-tracer's folder with config.yaml, or a folder of per-layer transcoders)",
			openLabel: 'Use Transcoders',
		});
		const dir = picked?.[0]?.fsPath;
		if (dir) await cfg.update(TRANSCODERS, dir, vscode.ConfigurationTarget.Global);
		return dir;
	};

	/** Traces one token with the engine (progress and Cancel in a notification) and shows its graph. */
	const runTrace = async (request: TokenTrace | { prompt: string }, title: string): Promise<void> => {
		const transcoders = await transcoderSet();
		if (!transcoders) return;
		if (!fs.existsSync(transcoders)) throw new Error(`the transcoder set ${transcoders} does not exist (featureLens.transcoders)`);
		await vscode.window
			.withProgress({ location: vscode.ProgressLocation.Notification, title: `Feature Lens: ${title}`, cancellable: true }, async (progress, token) => {
				progress.report({ message: 'loading the model…' });
				await session.ensureModel();
				if (token.isCancellationRequested) return;
				let reported = 0;
				const result = await engine.requestWithProgress(
					AttributeRequest,
					{ ...request, transcoders, nodeThreshold: DEFAULT_NODE_THRESHOLD, edgeThreshold: DEFAULT_EDGE_THRESHOLD },
					AttributeProgressNotification,
					(p) => {
						const pct = (100 * p.done) / p.total;
						progress.report({ message: `backward passes ${p.done}/${p.total}`, increment: pct - reported });
						reported = pct;
					},
					token,
				);
				log.info(`traced ${JSON.stringify(request.prompt.slice(-40))}: ${result.featureCount} features, ${result.edgeCount} edges, ${result.graph.nodes.length} nodes kept`);
				AttributionPanel.show(
					context.extensionUri,
					{ type: 'graph', graph: result.graph, nodeThreshold: DEFAULT_NODE_THRESHOLD, featureCount: result.featureCount, edgeCount: result.edgeCount, prunable: true },
					backendFor(result.graphId, result.graph, request.prompt, transcoders),
				);
			})
			.then(undefined, (err: unknown) => {
				if (isCancelled(err)) return;
				log.error(errorMessage(err));
				void vscode.window.showErrorMessage(`Feature Lens: ${errorMessage(err)}`, 'Show Log').then((c) => {
					if (c) log.show();
				});
			});
	};

	const trace = async (): Promise<void> => {
		const editor = vscode.window.activeTextEditor;
		if (!editor) {
			void vscode.window.showInformationMessage('Feature Lens: open a file and select the prompt to trace (or put the cursor after it).');
			return;
		}
		const document = editor.document;
		const prompt = tracePrompt(document.getText(), document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end));
		if (prompt.trim().length === 0) {
			void vscode.window.showInformationMessage('Feature Lens: nothing to trace; select the prompt, or put the cursor after some text on its line.');
			return;
		}
		await runTrace({ prompt }, 'tracing the completion');
	};

	/** A token of a completion the editor shows (the steering sidebar's, an inline one), picked, then traced as it was generated. */
	const traceToken = async (arg: unknown): Promise<void> => {
		const completion = traceableCompletion(arg);
		if (!completion) throw new Error('internal: Trace Completion Token needs the completion to trace');
		if (completion.tokens.length === 0) {
			void vscode.window.showInformationMessage(`Feature Lens: the ${completion.what} has no tokens to trace.`);
			return;
		}
		const pick = await vscode.window.showQuickPick(tokenPicks(completion), {
			title: `Feature Lens: Trace a Token of the ${completion.what}`,
			placeHolder: completion.steer ? 'The token to trace (under the steering it was generated with)' : 'The token to trace',
			matchOnDescription: true,
			matchOnDetail: true,
		});
		if (!pick) return;
		await runTrace(tokenTrace(completion, pick.index), `tracing token ${pick.index + 1} of the ${completion.what}`);
	};

	/** A graph file's transcoder set: the first local folder among its sources (circuit-tracer's transcoder_list, or info.source_urls). */
	const fileTranscoders = (graph: GraphJson): string | undefined => {
		const sources = [...(graph.metadata.transcoder_list ?? []), ...(graph.metadata.info?.source_urls ?? [])];
		return sources.find((s): s is string => typeof s === 'string' && path.isAbsolute(s) && fs.existsSync(s));
	};

	const openGraphJson = async (): Promise<void> => {
		const picked = await vscode.window.showOpenDialog({
			canSelectFiles: true,
			canSelectFolders: false,
			canSelectMany: false,
			filters: { 'Neuronpedia graph JSON': ['json'] },
			title: "Feature Lens: Open Graph JSON (Neuronpedia's attribution-graph format)",
			openLabel: 'Open Graph',
		});
		const file = picked?.[0]?.fsPath;
		if (!file) return;
		let graph: GraphJson;
		try {
			graph = parseGraphJson(await fs.promises.readFile(file, 'utf8'));
		} catch (err) {
			throw new Error(`${file}: ${errorMessage(err)}`);
		}
		const nodeThreshold = graph.metadata.pruning_settings?.node_threshold ?? graph.metadata.node_threshold ?? DEFAULT_NODE_THRESHOLD;
		AttributionPanel.show(
			context.extensionUri,
			{
				type: 'graph',
				graph,
				nodeThreshold,
				prunable: false,
				featureCount: graph.nodes.filter((n) => graphFeature(graph, n)).length,
				edgeCount: graph.links.length,
			},
			backendFor(undefined, graph, graph.metadata.prompt, fileTranscoders(graph)),
		);
	};

	const backendFor = (graphId: string | undefined, first: GraphJson, prompt: string, transcoders: string | undefined): AttributionBackend => {
		let graph = first;
		/** Every node any pruning has shown, so pins survive a slider move that hides them. */
		const seen = new Map(first.nodes.map((n) => [n.node_id, n]));
		const withSeen = (): GraphJson => ({ ...graph, nodes: [...seen.values()] });
		/** The file of layer `layer`'s transcoder in the graph's transcoder set. */
		const transcoderFile = (layer: number): string => {
			if (!transcoders)
				throw new Error(
					'this graph names no transcoder set on this machine (its transcoder_list and info.source_urls hold no local folder), so its features cannot be loaded; trace the prompt here to use them',
				);
			const found = layerTranscoder(transcoders, layer);
			if ('why' in found) throw new Error(`layer ${layer}'s features cannot be loaded here: ${found.why}`);
			return found.path;
		};
		/** Loads the layer's transcoder as the SAE unless it is loaded already (a dashboard shows the loaded SAE's features). */
		const loadLayer = async (layer: number): Promise<void> => {
			const file = transcoderFile(layer);
			if (session.current?.sae?.source === file) return;
			await session.loadSae(file);
			AttributionPanel.notice(`Loaded layer ${layer}'s transcoder as the SAE (featureLens.sae: ${file}).`, false);
		};
		return {
			prune: async (nodeThreshold) => {
				if (graphId === undefined) throw new Error('a graph opened from a file holds only its pruned nodes, so it cannot be pruned again; trace the prompt to prune it');
				graph = await engine.request(PruneAttributionRequest, { graphId, nodeThreshold, edgeThreshold: DEFAULT_EDGE_THRESHOLD });
				for (const n of graph.nodes) seen.set(n.node_id, n);
				return graph;
			},
			openFeature: async (nodeId) => {
				const node = seen.get(nodeId);
				const feature = node && graphFeature(graph, node);
				if (!feature) throw new Error(`node ${nodeId} is not a transcoder feature: only features have dashboards`);
				await loadLayer(feature.layer);
				await vscode.commands.executeCommand(COMMANDS.openFeatureDashboard, feature.index);
			},
			save: async (pinnedIds, supernodes) => {
				const target = await vscode.window.showSaveDialog({
					title: 'Feature Lens: Save Graph JSON',
					saveLabel: 'Save Graph JSON',
					filters: { 'Neuronpedia graph JSON': ['json'] },
					defaultUri: vscode.Uri.file(path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', `${graph.metadata.slug}.json`)),
				});
				if (!target) return;
				await vscode.workspace.fs.writeFile(target, Buffer.from(JSON.stringify(withSubgraph(graph, pinnedIds, supernodes))));
				AttributionPanel.notice(`Saved ${target.fsPath}`, false);
			},
			steer: async (nodeIds, mode, strength, onStart) => {
				// Each feature names its layer's transcoder: the engine loads those beside the loaded SAE.
				const steering = graphSteering(withSeen(), nodeIds, mode, strength, transcoderFile);
				onStart(steering.description);
				await session.ensureModel();
				const result = await engine.requestWithProgress(
					SteeredGenerateRequest,
					{
						prompt,
						steer: { features: steering.features, vectors: [], positions: 'all' },
						baseline: true,
						...STEER_SAMPLING,
					},
					SteerTokenNotification,
					() => undefined,
				);
				return { description: steering.description, baseline: result.baseline?.text ?? '', steered: result.steered.text };
			},
		};
	};

	context.subscriptions.push(
		vscode.commands.registerCommand(COMMANDS.traceCompletion, () => runReported(log, trace)),
		vscode.commands.registerCommand(COMMANDS.traceCompletionToken, (arg: unknown) => runReported(log, () => traceToken(arg))),
		vscode.commands.registerCommand(COMMANDS.openGraphJson, () => runReported(log, openGraphJson)),
		// The panel comes back after a window reload with the graph its webview kept (pins and supernodes too).
		vscode.window.registerWebviewPanelSerializer(ATTRIBUTION_VIEW_TYPE, {
			deserializeWebviewPanel: async (panel, state: unknown) => {
				const message = restoredGraph(state);
				if (!message) {
					log.warn('attribution panel: nothing to restore after the reload (its saved state is missing or not a graph)');
					panel.dispose();
					return;
				}
				log.info(`attribution panel restored after a reload: ${message.graph.nodes.length} nodes, ${message.graph.qParams.pinnedIds?.length ?? 0} pinned`);
				AttributionPanel.revive(panel, context.extensionUri, message, backendFor(undefined, message.graph, message.graph.metadata.prompt, fileTranscoders(message.graph)));
			},
		}),
	);
}

/** The command's argument as a TraceableCompletion (it comes from our own callers; checked all the same). */
function traceableCompletion(arg: unknown): TraceableCompletion | undefined {
	if (typeof arg !== 'object' || arg === null) return undefined;
	const c = arg as Partial<TraceableCompletion>;
	const ids = (xs: unknown): xs is number[] => Array.isArray(xs) && xs.every((x) => Number.isInteger(x) && (x as number) >= 0);
	if (typeof c.what !== 'string' || typeof c.prompt !== 'string' || !ids(c.promptIds) || !Array.isArray(c.tokens)) return undefined;
	if (!c.tokens.every((t) => typeof t === 'object' && t !== null && Number.isInteger(t.id) && t.id >= 0 && typeof t.text === 'string')) return undefined;
	return c as TraceableCompletion;
}
