// Neuronpedia's id of a transcoder feature in graph JSON with `schema_version` 1: the Cantor
// pairing of its layer and its index in that layer, as circuit-tracer writes it (graph_models.py,
// Node.feature_node) and Neuronpedia's graph page reads it (utils.ts, getLayerFromCantorValue and
// getIndexFromCantorValue). Older graphs use per-model encodings and are read as plain indices.

export function cantorPair(layer: number, index: number): number {
	return ((layer + index) * (layer + index + 1)) / 2 + index;
}

/** The layer and index `cantorPair` made `value` from. */
export function cantorUnpair(value: number): { layer: number; index: number } {
	let w = Math.floor((Math.sqrt(8 * value + 1) - 1) / 2);
	// The square root can round the wrong way for large values.
	while ((w * w + w) / 2 > value) w--;
	while (((w + 1) * (w + 2)) / 2 <= value) w++;
	const t = (w * w + w) / 2;
	const index = value - t;
	return { layer: w - index, index };
}
