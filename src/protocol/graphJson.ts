// Neuronpedia's attribution-graph JSON, read and written as its published schema defines it:
// neuronpedia apps/webapp/app/api/graph/graph-schema.json ("Anthropic Attribution Graph" 1.0.0,
// hijohnnylin/neuronpedia at ebb8426f, 2026-08-20), which circuit-tracer's create_graph_files
// writes (decoderesearch/circuit-tracer circuit_tracer/frontend/graph_models.py at 4bb8c0ea) and
// Neuronpedia's graph page reads (apps/webapp/app/[modelId]/graph/graph-types.ts). A graph made
// here opens on Neuronpedia; one downloaded from Neuronpedia opens here.
//
// Reading validates every field the schema types (and the few metadata fields outside it that
// Neuronpedia's types and circuit-tracer use: transcoder_list, schema_version, replacement_score,
// completeness_score, and circuit-tracer's per-node token_prob, is_target_logit, run_idx,
// reverse_ctx_idx), naming the field on bad input (`nodes[12].ctx_idx: expected an integer, got
// "3"`). Fields the schema leaves open (extra keys, generation_settings of your own) pass through
// untouched, so a file written back holds everything it was read with. An optional field may
// also be null, as pydantic writes an unset one. Free of Node and DOM APIs.

/** Neuronpedia's `feature_type` of each node kind (circuit-tracer's names). */
export const FEATURE_TYPES = {
	feature: 'cross layer transcoder',
	error: 'mlp reconstruction error',
	embedding: 'embedding',
	logit: 'logit',
} as const;

export interface GraphJson {
	metadata: GraphJsonMetadata;
	/** The saved state of the subgraph: pinned nodes, supernodes, the clicked node. */
	qParams: GraphJsonQParams;
	nodes: GraphJsonNode[];
	links: GraphJsonLink[];
	/** QK-tracing contributors pruned out of `nodes`, by `node_id` (lorsa graphs only). */
	qk_only_nodes?: Record<string, GraphJsonQkOnlyNode>;
}

export interface GraphJsonMetadata {
	slug: string;
	/** The model (and coders) used; Neuronpedia reads it as a model id, e.g. `gemma-2-2b`. */
	scan: string;
	prompt_tokens: string[];
	prompt: string;
	feature_details?: { feature_json_base_url?: string; neuronpedia_source_set?: string; neuronpedia_lorsa_source_set?: string } | null;
	/** Default for Neuronpedia's pruning slider, over the nodes' `influence`. */
	node_threshold?: number | null;
	info?: GraphJsonInfo | null;
	generation_settings?: { max_n_logits?: number | null; desired_logit_prob?: number | null; batch_size?: number | null; max_feature_nodes?: number | null } | null;
	pruning_settings?: { node_threshold?: number | null; edge_threshold?: number | null } | null;
	/** circuit-tracer: the transcoders used, one per layer, when not a named `scan`. */
	transcoder_list?: string[] | null;
	/** 1: a feature node's `feature` is the Cantor pairing of its layer and index (featureIds.ts). */
	schema_version?: number | null;
	replacement_score?: number | null;
	completeness_score?: number | null;
}

export interface GraphJsonInfo {
	description?: string | null;
	creator_name?: string | null;
	creator_url?: string | null;
	/** The transcoders, CLTs, … used to make the graph. */
	source_urls?: unknown[] | null;
	generator?: { name?: string | null; version?: string | null; url?: string | null; email?: string | null } | null;
	create_time_ms?: number | null;
}

export interface GraphJsonQParams {
	pinnedIds?: string[] | null;
	/** Neuronpedia writes each as [name, ...node ids]; the schema says only "array". */
	supernodes?: unknown[] | null;
	linkType?: string | null;
	clickedId?: string | null;
	sg_pos?: string | null;
}

export interface GraphJsonNode {
	node_id: string;
	feature: number | null;
	/** A layer number (as a string or an integer), `E` for embeddings. */
	layer: string | number;
	ctx_idx: number;
	/** `cross layer transcoder`, `mlp reconstruction error`, `embedding`, `logit` (also `lorsa`, `lorsa error`, `bias`, … elsewhere). */
	feature_type: string;
	jsNodeId: string;
	clerp: string;
	/** circuit-tracer's cumulative influence, for Neuronpedia's pruning slider. */
	influence?: number | null;
	activation?: number | null;
	token_prob?: number | null;
	is_target_logit?: boolean | null;
	run_idx?: number | null;
	reverse_ctx_idx?: number | null;
	qk_tracing_results?: {
		pair_wise_contributors: [string, string, number][];
		top_q_marginal_contributors: [string, number][];
		top_k_marginal_contributors: [string, number][];
	} | null;
}

export interface GraphJsonLink {
	source: string;
	target: string;
	weight: number;
}

export interface GraphJsonQkOnlyNode {
	node_id: string;
	feature?: number | null;
	layer: string | number;
	ctx_idx: number;
	feature_type: string;
	jsNodeId: string;
	clerp: string;
	activation?: number | null;
}

/** A graph file that does not follow the schema; `field` is where (`nodes[3].layer`). */
export class GraphJsonError extends Error {
	constructor(
		readonly field: string,
		problem: string,
	) {
		super(field ? `${field}: ${problem}` : problem);
		this.name = 'GraphJsonError';
	}
}

/** Parses and validates graph JSON text. */
export function parseGraphJson(text: string): GraphJson {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (err) {
		throw new GraphJsonError('', `not JSON (${err instanceof Error ? err.message : String(err)})`);
	}
	return validateGraphJson(value);
}

/** `value` as a GraphJson (the same object), or a GraphJsonError naming the first bad field. */
export function validateGraphJson(value: unknown): GraphJson {
	const top = object(value, '');
	const metadata = object(required(top, 'metadata', ''), 'metadata');
	required(metadata, 'slug', 'metadata', string);
	required(metadata, 'scan', 'metadata', string);
	required(metadata, 'prompt_tokens', 'metadata', arrayOf(string));
	required(metadata, 'prompt', 'metadata', string);
	optional(metadata, 'feature_details', 'metadata', fields({ feature_json_base_url: string, neuronpedia_source_set: string, neuronpedia_lorsa_source_set: string }));
	optional(metadata, 'node_threshold', 'metadata', number);
	optional(
		metadata,
		'info',
		'metadata',
		fields({
			description: string,
			creator_name: string,
			creator_url: string,
			source_urls: arrayOf(),
			generator: fields({ name: string, version: string, url: string, email: string }),
			create_time_ms: number,
		}),
	);
	optional(metadata, 'generation_settings', 'metadata', fields({ max_n_logits: integer, desired_logit_prob: number, batch_size: integer, max_feature_nodes: integer }));
	optional(metadata, 'pruning_settings', 'metadata', fields({ node_threshold: number, edge_threshold: number }));
	optional(metadata, 'transcoder_list', 'metadata', arrayOf(string));
	optional(metadata, 'schema_version', 'metadata', integer);
	optional(metadata, 'replacement_score', 'metadata', number);
	optional(metadata, 'completeness_score', 'metadata', number);

	const qParams = object(required(top, 'qParams', ''), 'qParams');
	optional(qParams, 'pinnedIds', 'qParams', arrayOf(string));
	optional(qParams, 'supernodes', 'qParams', arrayOf());
	for (const key of ['linkType', 'clickedId', 'sg_pos']) optional(qParams, key, 'qParams', string);

	required(top, 'nodes', '', arrayOf(node));
	required(top, 'links', '', arrayOf(fields({ source: string, target: string, weight: number }, ['source', 'target', 'weight'])));
	optional(top, 'qk_only_nodes', '', (v, path) => {
		for (const [id, entry] of Object.entries(object(v, path))) qkOnlyNode(entry, `${path}[${JSON.stringify(id)}]`);
	});
	return top as unknown as GraphJson;
}

/**
 * The graph as JSON text: validated first (a GraphJsonError rather than a file Neuronpedia
 * refuses), every number finite (JSON has no NaN), one node or link per line.
 */
export function formatGraphJson(graph: GraphJson): string {
	validateGraphJson(graph);
	finiteEverywhere(graph, '');
	const entries = Object.entries(graph as unknown as Record<string, unknown>).filter(([, v]) => v !== undefined);
	const order = ['metadata', 'qParams', 'nodes', 'links'];
	entries.sort(([a], [b]) => rank(order, a) - rank(order, b));
	const parts = entries.map(([key, value]) => {
		const name = JSON.stringify(key);
		if (Array.isArray(value) && (key === 'nodes' || key === 'links')) {
			return value.length === 0 ? `\t${name}: []` : `\t${name}: [\n${value.map((item) => `\t\t${JSON.stringify(item)}`).join(',\n')}\n\t]`;
		}
		return `\t${name}: ${JSON.stringify(value, null, '\t').replace(/\n/g, '\n\t')}`;
	});
	return `{\n${parts.join(',\n')}\n}\n`;
}

function rank(order: readonly string[], key: string): number {
	const i = order.indexOf(key);
	return i < 0 ? order.length : i;
}

type Check = (value: unknown, path: string) => void;

function fail(path: string, problem: string): never {
	throw new GraphJsonError(path, problem);
}

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	if (typeof value === 'object') return 'an object';
	if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
	return typeof value; // 'undefined', 'function', 'symbol'
}

function object(value: unknown, path: string): Record<string, unknown> {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, `expected an object, got ${describe(value)}`);
	return value as Record<string, unknown>;
}

function join(path: string, key: string): string {
	return path ? `${path}.${key}` : key;
}

function required(o: Record<string, unknown>, key: string, path: string, check?: Check): unknown {
	if (!(key in o) || o[key] === undefined) fail(join(path, key), 'missing (required)');
	check?.(o[key], join(path, key));
	return o[key];
}

function optional(o: Record<string, unknown>, key: string, path: string, check: Check): void {
	const v = o[key];
	if (v !== undefined && v !== null) check(v, join(path, key));
}

const string: Check = (v, path) => {
	if (typeof v !== 'string') fail(path, `expected a string, got ${describe(v)}`);
};
const number: Check = (v, path) => {
	if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `expected a finite number, got ${describe(v)}`);
};
const integer: Check = (v, path) => {
	if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, `expected an integer, got ${describe(v)}`);
};
const boolean: Check = (v, path) => {
	if (typeof v !== 'boolean') fail(path, `expected true or false, got ${describe(v)}`);
};
const nullable =
	(check: Check): Check =>
	(v, path) => {
		if (v !== null) check(v, path);
	};
const stringOrInteger: Check = (v, path) => {
	if (typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v))) fail(path, `expected a string or an integer, got ${describe(v)}`);
};

function arrayOf(item?: Check): Check {
	return (v, path) => {
		if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
		if (item) for (let i = 0; i < v.length; i++) item(v[i], `${path}[${i}]`);
	};
}

/** An object whose listed fields have these types; `requiredKeys` must be present, the others may be absent or null. */
function fields(checks: Record<string, Check>, requiredKeys: readonly string[] = []): Check {
	return (v, path) => {
		const o = object(v, path);
		for (const [key, check] of Object.entries(checks)) {
			if (requiredKeys.includes(key)) required(o, key, path, check);
			else optional(o, key, path, check);
		}
	};
}

function tuple(...items: Check[]): Check {
	return (v, path) => {
		if (!Array.isArray(v) || v.length !== items.length) fail(path, `expected an array of ${items.length}, got ${Array.isArray(v) ? `an array of ${v.length}` : describe(v)}`);
		items.forEach((check, i) => check(v[i], `${path}[${i}]`));
	};
}

function node(v: unknown, path: string): void {
	const o = object(v, path);
	required(o, 'node_id', path, string);
	required(o, 'feature', path, nullable(integer));
	required(o, 'layer', path, stringOrInteger);
	required(o, 'ctx_idx', path, integer);
	required(o, 'feature_type', path, string);
	required(o, 'jsNodeId', path, string);
	required(o, 'clerp', path, string);
	for (const key of ['influence', 'activation', 'token_prob']) optional(o, key, path, number);
	optional(o, 'is_target_logit', path, boolean);
	for (const key of ['run_idx', 'reverse_ctx_idx']) optional(o, key, path, integer);
	optional(
		o,
		'qk_tracing_results',
		path,
		fields(
			{
				pair_wise_contributors: arrayOf(tuple(string, string, number)),
				top_q_marginal_contributors: arrayOf(tuple(string, number)),
				top_k_marginal_contributors: arrayOf(tuple(string, number)),
			},
			['pair_wise_contributors', 'top_q_marginal_contributors', 'top_k_marginal_contributors'],
		),
	);
}

function qkOnlyNode(v: unknown, path: string): void {
	const o = object(v, path);
	for (const key of ['node_id', 'feature_type', 'jsNodeId', 'clerp']) required(o, key, path, string);
	required(o, 'layer', path, stringOrInteger);
	required(o, 'ctx_idx', path, integer);
	optional(o, 'feature', path, integer);
	optional(o, 'activation', path, number);
}

/** Refuses NaN and ±Infinity anywhere, which JSON.stringify would write as null. */
function finiteEverywhere(value: unknown, path: string): void {
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) fail(path, `${value} cannot be written as JSON`);
	} else if (Array.isArray(value)) {
		value.forEach((v, i) => finiteEverywhere(v, `${path}[${i}]`));
	} else if (typeof value === 'object' && value !== null) {
		for (const [k, v] of Object.entries(value)) finiteEverywhere(v, join(path, k));
	}
}
