// `feature-lens attribute`: the attribution graph of one prompt (circuit tracing) with a
// transcoder set, written as Neuronpedia's graph JSON (pruned, with the replacement and
// completeness scores in its metadata), so it opens on Neuronpedia and in the graph panel.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AttributionCancelled, DESIRED_LOGIT_PROBABILITY, attribute, defaultBatchSize } from '../engine/attribution/attribute';
import { formatGraphJson } from '../protocol/graphJson';
import { graphToJson } from '../engine/attribution/graphToJson';
import { DEFAULT_EDGE_THRESHOLD, DEFAULT_NODE_THRESHOLD } from '../engine/attribution/pruneGraph';
import { parseIds, tokensFor } from '../engine/models/textInput';
import { loadAttributionFeatures } from '../engine/attribution/featureSource';
import { CliError, intOption, numberOption } from './cliErrors';
import type { CliValues } from './main';
import { sessionSettings } from './modelCommands';
import { openModel } from './openModel';

export async function attributeCommand(modelArg: string, values: CliValues): Promise<void> {
	if (!values.transcoders) throw new CliError("attribute needs --transcoders DIR (a transcoder set: circuit-tracer's config.yaml, or a folder of per-layer transcoder folders)");
	if (!values.out) throw new CliError('attribute needs --out FILE for the graph JSON');
	if ((values.ids === undefined) === (values.prompt === undefined)) throw new CliError('give exactly one of --ids or --prompt');
	if (values.target !== undefined && values['target-id'] !== undefined) throw new CliError('give --target TOKEN or --target-id N, not both');
	const nodeThreshold = numberOption(values['node-threshold'], 'node-threshold', DEFAULT_NODE_THRESHOLD, 0, 1);
	const edgeThreshold = numberOption(values['edge-threshold'], 'edge-threshold', DEFAULT_EDGE_THRESHOLD, 0, 1);
	const maxLogits = intOption(values['max-logits'], 'max-logits', 10, 1);
	const maxFeatureNodes = values['max-feature-nodes'] === undefined ? undefined : intOption(values['max-feature-nodes'], 'max-feature-nodes', 0, 1);
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	const model = await openModel(modelArg, settings, log);
	try {
		const dir = path.resolve(values.transcoders);
		const transcoders = loadAttributionFeatures(dir);
		const tokens = await tokensFor(model, values.prompt !== undefined ? { text: values.prompt } : { ids: parseIds(values.ids!) });
		const prompt = values.prompt ?? tokens.map((t) => t.text).join('');
		let targetToken: number | undefined;
		if (values['target-id'] !== undefined) targetToken = intOption(values['target-id'], 'target-id', 0, 0);
		if (values.target !== undefined) {
			const encoded = await tokensFor(model, { text: values.target });
			if (encoded.length !== 1)
				throw new CliError(`--target ${JSON.stringify(values.target)} is ${encoded.length} tokens (${encoded.map((t) => JSON.stringify(t.text)).join(', ')}); give one token, or --target-id N`);
			targetToken = encoded[0]!.id;
		}
		const controller = new AbortController();
		const stop = () => controller.abort();
		process.once('SIGINT', stop);
		const t0 = performance.now();
		let attribution;
		try {
			attribution = await attribute(model, transcoders, prompt, tokens, {
				settings,
				maxLogits,
				targetToken,
				maxFeatureNodes,
				featureSources: [dir],
				signal: controller.signal,
				onProgress: (done, total) => {
					if (!values.json && process.stderr.isTTY) process.stderr.write(`\rattributing ${done}/${total} targets`);
				},
			});
		} catch (err) {
			if (err instanceof AttributionCancelled) throw new CliError('attribution cancelled');
			throw err;
		} finally {
			process.removeListener('SIGINT', stop);
		}
		if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
		const { graph } = attribution;
		const slug = values.slug ?? path.basename(values.out).replace(/\.json$/i, '');
		const json = graphToJson(graph, {
			slug,
			scan: model.name,
			nodeThreshold,
			edgeThreshold,
			generationSettings: { max_n_logits: maxLogits, desired_logit_prob: DESIRED_LOGIT_PROBABILITY, batch_size: defaultBatchSize(model, tokens.length), max_feature_nodes: maxFeatureNodes ?? null },
		});
		fs.writeFileSync(values.out, formatGraphJson(json));
		const seconds = (performance.now() - t0) / 1000;
		const count = (kind: string) => graph.nodes.filter((n) => n.kind === kind).length;
		const summary = {
			out: values.out,
			tokens: tokens.length,
			features: count('feature'),
			logits: graph.nodes.filter((n) => n.kind === 'logit').map((n) => (n.kind === 'logit' ? { token: n.token, probability: n.probability } : undefined)),
			edges: graph.edges.source.length,
			kept_nodes: json.nodes.length,
			kept_links: json.links.length,
			replacement_score: json.metadata.replacement_score ?? null,
			completeness_score: json.metadata.completeness_score ?? null,
			seconds: Number(seconds.toFixed(2)),
		};
		if (values.json) {
			process.stdout.write(JSON.stringify(summary) + '\n');
		} else {
			process.stdout.write(
				`${summary.tokens} tokens, ${summary.features} active features, ${summary.edges} edges → ${summary.kept_nodes} nodes, ${summary.kept_links} links kept (node threshold ${nodeThreshold}, edge threshold ${edgeThreshold})\n`,
			);
			for (const l of summary.logits) process.stdout.write(`  logit ${JSON.stringify(l!.token)} p=${l!.probability.toFixed(3)}\n`);
			process.stdout.write(
				`replacement score ${summary.replacement_score?.toFixed(4) ?? 'undefined'}, completeness score ${summary.completeness_score?.toFixed(4) ?? 'undefined'}; ${summary.seconds} s\nwrote ${values.out}\n`,
			);
		}
	} finally {
		await model.dispose();
	}
}
