// A small typed builder for ONNX graphs. Values are tensor names; every helper emits one
// NodeProto and returns its output name, so model code reads like the math it implements.

import { DataType, encodeModel } from './onnxProto';
import type { AttributeValue, Dim, ExternalData, GraphInit, NodeInit, TensorInit, ValueInfo } from './onnxProto';

/** A tensor in the graph under construction, named as in the ONNX graph. */
export type Value = string;

/** Opset of the default domain: 17 has LayerNormalization and attribute-form ReduceMean. */
export const OPSET = 17;
/** onnxruntime's contrib-op domain (FastGelu and other fused kernels). */
export const MS_DOMAIN = 'com.microsoft';

type Attrs = Record<string, AttributeValue>;

export const attr = {
	int: (value: number): AttributeValue => ({ kind: 'int', value }),
	float: (value: number): AttributeValue => ({ kind: 'float', value }),
	ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
	string: (value: string): AttributeValue => ({ kind: 'string', value }),
};

/** Names and node numbering shared by a graph and its subgraphs: ONNX values live in one namespace across nesting levels. */
interface Namespace {
	names: Set<string>;
	counter: number;
	/** Node outputs renamed to graph-output names, applied in every graph of the model when it is built. */
	aliases: Map<Value, Value>;
}

export class GraphBuilder {
	private readonly nodes: NodeInit[] = [];
	private readonly initializers: TensorInit[] = [];
	private readonly inputs: ValueInfo[] = [];
	private readonly outputs: ValueInfo[] = [];
	private readonly namespace: Namespace;
	private readonly constants = new Map<string, Value>();
	private readonly nodeOutputs = new Set<Value>();
	/** If nodes' branches, turned into subgraph attributes when the graph is built (after every rename is known). */
	private readonly branches = new Map<NodeInit, { then: GraphBuilder; else: GraphBuilder }>();
	private scopeStack: string[] = [];

	constructor(
		private readonly graphName: string,
		parent?: GraphBuilder,
	) {
		this.namespace = parent ? parent.namespace : { names: new Set(), counter: 0, aliases: new Map() };
		if (parent) this.scopeStack = [...parent.scopeStack];
	}

	/**
	 * ONNX If: runs `thenBranch` or `elseBranch` (each building a subgraph that may read this
	 * graph's values) by a boolean scalar, returning the chosen branch's outputs. Branch outputs
	 * must agree in number and element type; shapes may differ.
	 */
	ifElse(cond: Value, types: readonly DataType[], thenBranch: (g: GraphBuilder) => readonly Value[], elseBranch: (g: GraphBuilder) => readonly Value[]): Value[] {
		const branch = (label: string, body: (g: GraphBuilder) => readonly Value[]): GraphBuilder => {
			const g = new GraphBuilder(label, this);
			const outs = body(g);
			if (outs.length !== types.length) throw new Error(`internal: ${label} returned ${outs.length} values, expected ${types.length}`);
			outs.forEach((v, i) => {
				// A branch output must be produced inside the branch; pass outer values through Identity.
				const name = g.producedByNode(v) ? v : g.op('Identity', [v]);
				g.outputs.push({ name, dataType: types[i]! });
			});
			return g;
		};
		const id = this.namespace.counter++;
		const thenGraph = branch(`then_${id}`, thenBranch);
		const elseGraph = branch(`else_${id}`, elseBranch);
		const outputs = this.node('If', [cond], {}, types.length);
		this.branches.set(this.nodes[this.nodes.length - 1]!, { then: thenGraph, else: elseGraph });
		return outputs;
	}

	/** Runs `body` with node names prefixed by `scope` (e.g. `/blocks.3/attn`), for readable graphs. */
	scope<T>(scope: string, body: () => T): T {
		this.scopeStack.push(scope);
		try {
			return body();
		} finally {
			this.scopeStack.pop();
		}
	}

	input(name: string, dataType: DataType, dims: readonly Dim[]): Value {
		this.claim(name);
		this.inputs.push({ name, dataType, dims });
		return name;
	}

	/** An initializer whose bytes stay in a file (ONNX external data), so they never pass through the protobuf. */
	externalInitializer(name: string, dataType: DataType, dims: readonly number[], external: ExternalData): Value {
		this.claim(name);
		this.initializers.push({ name, dataType, dims, external });
		return name;
	}

	/**
	 * Marks a value as a graph output under `name`. A node's output is renamed in place (at
	 * build time), because an Identity feeding a graph output is a real copy in onnxruntime.
	 */
	output(value: Value, dataType: DataType, dims: readonly Dim[] | undefined, name: Value = value): Value {
		if (name !== value) {
			this.claim(name);
			if (this.producedByNode(value) && !this.namespace.aliases.has(value)) {
				this.namespace.aliases.set(value, name);
			} else {
				this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name: `${name}/Identity` });
			}
		}
		this.outputs.push({ name, dataType, ...(dims ? { dims } : {}) });
		return name;
	}

	initializer(name: string, dataType: DataType, dims: readonly number[], raw: Uint8Array): Value {
		this.claim(name);
		this.initializers.push({ name, dataType, dims, raw });
		return name;
	}

	/** A float32 constant, deduplicated by value. */
	constFloat(values: readonly number[], dims: readonly number[] = []): Value {
		return this.constant(DataType.FLOAT, values, dims);
	}

	/** An int64 constant (shapes, axes, indices), deduplicated by value. */
	constInt64(values: readonly number[], dims: readonly number[] = [values.length]): Value {
		return this.constant(DataType.INT64, values, dims);
	}

	/** Emits one node; returns its outputs. */
	node(opType: string, inputs: readonly Value[], attributes: Attrs = {}, nOutputs = 1, domain?: string): Value[] {
		const prefix = this.scopeStack.join('');
		const nodeName = `${prefix}/${opType}_${this.namespace.counter++}`;
		const outputs = Array.from({ length: nOutputs }, (_, i) => `${nodeName}:${i}`);
		for (const o of outputs) this.nodeOutputs.add(o);
		this.nodes.push({ opType, inputs, outputs, name: nodeName, attributes, domain });
		return outputs;
	}

	op(opType: string, inputs: readonly Value[], attributes: Attrs = {}, domain?: string): Value {
		return this.node(opType, inputs, attributes, 1, domain)[0]!;
	}

	// --- elementwise and linear algebra -------------------------------------------------
	add(a: Value, b: Value): Value {
		return this.op('Add', [a, b]);
	}
	sub(a: Value, b: Value): Value {
		return this.op('Sub', [a, b]);
	}
	mul(a: Value, b: Value): Value {
		return this.op('Mul', [a, b]);
	}
	div(a: Value, b: Value): Value {
		return this.op('Div', [a, b]);
	}
	matMul(a: Value, b: Value): Value {
		return this.op('MatMul', [a, b]);
	}
	sigmoid(x: Value): Value {
		return this.op('Sigmoid', [x]);
	}
	tanh(x: Value): Value {
		return this.op('Tanh', [x]);
	}
	sqrt(x: Value): Value {
		return this.op('Sqrt', [x]);
	}
	cos(x: Value): Value {
		return this.op('Cos', [x]);
	}
	sin(x: Value): Value {
		return this.op('Sin', [x]);
	}
	neg(x: Value): Value {
		return this.op('Neg', [x]);
	}
	cast(x: Value, to: DataType): Value {
		return this.op('Cast', [x], { to: attr.int(to) });
	}
	softmax(x: Value, axis = -1): Value {
		return this.op('Softmax', [x], { axis: attr.int(axis) });
	}

	/** x @ w + b for a weight already laid out [in, out]. */
	linear(x: Value, w: Value, b?: Value): Value {
		const y = this.matMul(x, w);
		return b === undefined ? y : this.add(y, b);
	}

	// --- shape manipulation ------------------------------------------------------------
	reshape(x: Value, shape: readonly number[]): Value {
		return this.op('Reshape', [x, this.constInt64(shape)]);
	}
	reshapeTo(x: Value, shape: Value): Value {
		return this.op('Reshape', [x, shape]);
	}
	transpose(x: Value, perm: readonly number[]): Value {
		return this.op('Transpose', [x], { perm: attr.ints(perm) });
	}
	concat(xs: readonly Value[], axis: number): Value {
		return this.op('Concat', xs, { axis: attr.int(axis) });
	}
	unsqueeze(x: Value, axes: readonly number[]): Value {
		return this.op('Unsqueeze', [x, this.constInt64(axes)]);
	}
	gather(data: Value, indices: Value, axis = 0): Value {
		return this.op('Gather', [data, indices], { axis: attr.int(axis) });
	}
	shape(x: Value, start?: number, end?: number): Value {
		const attrs: Attrs = {};
		if (start !== undefined) attrs.start = attr.int(start);
		if (end !== undefined) attrs.end = attr.int(end);
		return this.op('Shape', [x], attrs);
	}
	/** Slices `x` along `axis` from `start` (a scalar-or-[1] int64 value) to `end`. */
	slice(x: Value, starts: Value, ends: Value, axes: readonly number[]): Value {
		return this.op('Slice', [x, starts, ends, this.constInt64(axes)]);
	}
	split(x: Value, sizes: readonly number[], axis: number): Value[] {
		return this.node('Split', [x, this.constInt64(sizes)], { axis: attr.int(axis) }, sizes.length);
	}
	range(start: Value, limit: Value, delta: Value): Value {
		return this.op('Range', [start, limit, delta]);
	}

	// --- normalization -----------------------------------------------------------------
	layerNorm(x: Value, scale: Value, bias: Value, eps: number): Value {
		return this.op('LayerNormalization', [x, scale, bias], { axis: attr.int(-1), epsilon: attr.float(eps) });
	}

	/** The graph as built so far, for a subgraph attribute (If, Loop) of an enclosing graph. */
	graphInit(): GraphInit {
		const alias = (v: Value): Value => this.namespace.aliases.get(v) ?? v;
		const nodes = this.nodes.map((n) => {
			const branches = this.branches.get(n);
			const attributes: NodeInit['attributes'] = branches
				? { then_branch: { kind: 'graph', value: branches.then.graphInit() }, else_branch: { kind: 'graph', value: branches.else.graphInit() } }
				: n.attributes;
			return { ...n, inputs: n.inputs.map(alias), outputs: n.outputs.map(alias), attributes };
		});
		return { name: this.graphName, nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs.map((o) => ({ ...o, name: alias(o.name) })) };
	}

	/** Serializes the graph with its weights to ONNX protobuf bytes. */
	build(metadata: Record<string, string> = {}): Buffer {
		return encodeModel({
			graph: this.graphInit(),
			opsets: [{ domain: '', version: OPSET }, ...[...new Set(this.nodes.map((n) => n.domain).filter((d): d is string => !!d))].map((domain) => ({ domain, version: 1 }))],
			producerName: 'feature-lens',
			producerVersion: '0.1.0',
			metadata,
		});
	}

	private constant(dataType: DataType, values: readonly number[], dims: readonly number[]): Value {
		const key = `${dataType}|${dims.join(',')}|${values.join(',')}`;
		const existing = this.constants.get(key);
		if (existing) return existing;
		const raw = dataType === DataType.INT64 ? new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer) : new Uint8Array(Float32Array.from(values).buffer);
		const name = this.initializer(`const_${this.namespace.counter++}`, dataType, dims, raw);
		this.constants.set(key, name);
		return name;
	}

	private producedByNode(value: Value): boolean {
		return this.nodeOutputs.has(value);
	}

	private claim(name: string): void {
		if (this.namespace.names.has(name)) throw new Error(`duplicate graph value name: ${name}`);
		this.namespace.names.add(name);
	}
}
