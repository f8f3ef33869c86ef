// Our own minimal ONNX schema: the ModelProto subset the engine emits, with field numbers
// from onnx/onnx.in.proto. Encoding only; the engine never needs to parse ONNX it did not build.

import type { StoredFloat } from '../io/halfFloats';
import { MessageWriter } from './protobuf';

/** TensorProto.DataType values. */
export const DataType = {
	FLOAT: 1,
	UINT8: 2,
	INT8: 3,
	INT32: 6,
	INT64: 7,
	BOOL: 9,
	FLOAT16: 10,
	BFLOAT16: 16,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The DataType a stored float tensor (a weight in a checkpoint or SAE) enters a graph as. */
export const STORED_FLOAT_TYPE: Readonly<Record<StoredFloat, DataType>> = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 };

/** A dimension is a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

export interface TensorInit {
	name: string;
	dataType: DataType;
	dims: readonly number[];
	/** Little-endian row-major payload (TensorProto.raw_data); absent for external data. */
	raw?: Uint8Array;
	/** Where the payload lives instead (TensorProto.external_data, data_location EXTERNAL). */
	external?: ExternalData;
}

/**
 * A tensor's bytes in a file beside the graph (ONNX external data): `location` is a relative
 * POSIX path, resolved by onnxruntime against the session's external-initializer folder.
 */
export interface ExternalData {
	location: string;
	offset: number;
	length: number;
}

export interface ValueInfo {
	name: string;
	dataType: DataType;
	/** Absent: rank unknown (a subgraph output whose branches differ in shape). */
	dims?: readonly Dim[];
}

export type AttributeValue =
	| { kind: 'float'; value: number }
	| { kind: 'int'; value: number }
	| { kind: 'string'; value: string }
	| { kind: 'ints'; value: readonly number[] }
	| { kind: 'floats'; value: readonly number[] }
	| { kind: 'tensor'; value: TensorInit }
	| { kind: 'graph'; value: GraphInit };

export interface NodeInit {
	opType: string;
	inputs: readonly string[];
	outputs: readonly string[];
	name: string;
	domain?: string;
	attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphInit {
	name: string;
	nodes: readonly NodeInit[];
	initializers: readonly TensorInit[];
	inputs: readonly ValueInfo[];
	outputs: readonly ValueInfo[];
}

export interface ModelInit {
	graph: GraphInit;
	opsets: readonly { domain: string; version: number }[];
	producerName: string;
	producerVersion: string;
	metadata?: Readonly<Record<string, string>>;
}

const IR_VERSION = 8;

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

const DATA_LOCATION_EXTERNAL = 1;

function tensor(t: TensorInit): MessageWriter {
	const w = new MessageWriter();
	if (t.dims.length > 0) w.packedVarints(1, t.dims);
	w.varint(2, t.dataType).string(8, t.name);
	if (t.external) {
		const entry = (key: string, value: string) => new MessageWriter().string(1, key).string(2, value);
		w.message(13, entry('location', t.external.location));
		w.message(13, entry('offset', String(t.external.offset)));
		w.message(13, entry('length', String(t.external.length)));
		w.varint(14, DATA_LOCATION_EXTERNAL);
	} else {
		if (!t.raw) throw new Error(`internal: tensor ${t.name} has neither raw data nor an external location`);
		w.bytes(9, t.raw);
	}
	return w;
}

function valueInfo(v: ValueInfo): MessageWriter {
	const tensorType = new MessageWriter().varint(1, v.dataType);
	if (v.dims) {
		const shape = new MessageWriter();
		for (const d of v.dims) {
			const dim = new MessageWriter();
			if (typeof d === 'number') dim.varint(1, d);
			else dim.string(2, d);
			shape.message(1, dim);
		}
		tensorType.message(2, shape);
	}
	const type = new MessageWriter().message(1, tensorType);
	return new MessageWriter().string(1, v.name).message(2, type);
}

function attribute(name: string, a: AttributeValue): MessageWriter {
	const w = new MessageWriter().string(1, name);
	switch (a.kind) {
		case 'float':
			return w.float(2, a.value).varint(20, AttributeType.FLOAT);
		case 'int':
			return w.varint(3, a.value).varint(20, AttributeType.INT);
		case 'string':
			return w.string(4, a.value).varint(20, AttributeType.STRING);
		case 'tensor':
			return w.message(5, tensor(a.value)).varint(20, AttributeType.TENSOR);
		case 'graph':
			return w.message(6, graph(a.value)).varint(20, AttributeType.GRAPH);
		case 'floats':
			for (const f of a.value) w.float(7, f);
			return w.varint(20, AttributeType.FLOATS);
		case 'ints':
			w.packedVarints(8, a.value);
			return w.varint(20, AttributeType.INTS);
	}
}

function node(n: NodeInit): MessageWriter {
	const w = new MessageWriter();
	for (const i of n.inputs) w.string(1, i);
	for (const o of n.outputs) w.string(2, o);
	w.string(3, n.name).string(4, n.opType);
	for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, a));
	if (n.domain) w.string(7, n.domain);
	return w;
}

function graph(g: GraphInit): MessageWriter {
	const w = new MessageWriter();
	for (const n of g.nodes) w.message(1, node(n));
	w.string(2, g.name);
	for (const t of g.initializers) w.message(5, tensor(t));
	for (const i of g.inputs) w.message(11, valueInfo(i));
	for (const o of g.outputs) w.message(12, valueInfo(o));
	return w;
}

/** Serializes a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelInit): Buffer {
	const w = new MessageWriter().varint(1, IR_VERSION).string(2, m.producerName).string(3, m.producerVersion).message(7, graph(m.graph));
	for (const o of m.opsets) {
		const opset = new MessageWriter();
		if (o.domain) opset.string(1, o.domain);
		opset.varint(2, o.version);
		w.message(8, opset);
	}
	for (const [key, value] of Object.entries(m.metadata ?? {})) {
		w.message(14, new MessageWriter().string(1, key).string(2, value));
	}
	return w.finish();
}
