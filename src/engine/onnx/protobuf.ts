// A minimal protobuf wire-format writer: just what encoding an ONNX ModelProto needs.
// Messages are built bottom-up into byte chunks so large initializer payloads are copied
// once, into the final buffer, and never pass through JS number arrays.

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

/** An encoded message body: a list of chunks whose concatenation is the message. */
export class MessageWriter {
	private readonly chunks: Uint8Array[] = [];
	private scratch: number[] = [];
	private length = 0;

	get byteLength(): number {
		return this.length + this.scratch.length;
	}

	varint(field: number, value: number | bigint): this {
		this.tag(field, WIRE_VARINT);
		this.writeVarint(BigInt.asUintN(64, BigInt(value)));
		return this;
	}

	float(field: number, value: number): this {
		this.tag(field, WIRE_FIXED32);
		const b = new Uint8Array(4);
		new DataView(b.buffer).setFloat32(0, value, true);
		this.scratch.push(...b);
		return this;
	}

	string(field: number, value: string): this {
		return this.bytes(field, Buffer.from(value, 'utf8'));
	}

	bytes(field: number, value: Uint8Array): this {
		this.tag(field, WIRE_LEN);
		this.writeVarint(BigInt(value.byteLength));
		this.flushScratch();
		this.chunks.push(value);
		this.length += value.byteLength;
		return this;
	}

	message(field: number, value: MessageWriter): this {
		this.tag(field, WIRE_LEN);
		this.writeVarint(BigInt(value.byteLength));
		this.flushScratch();
		for (const chunk of value.parts()) {
			this.chunks.push(chunk);
			this.length += chunk.byteLength;
		}
		return this;
	}

	/** Packed repeated int64 (e.g. TensorProto.dims). */
	packedVarints(field: number, values: readonly (number | bigint)[]): this {
		const inner = new MessageWriter();
		for (const v of values) inner.writeVarint(BigInt.asUintN(64, BigInt(v)));
		// On the wire a packed field is a length-delimited one, like a message.
		return this.message(field, inner);
	}

	parts(): Uint8Array[] {
		this.flushScratch();
		return this.chunks;
	}

	finish(): Buffer {
		return Buffer.concat(this.parts());
	}

	private tag(field: number, wire: number): void {
		this.writeVarint(BigInt((field << 3) | wire));
	}

	private writeVarint(v: bigint): void {
		while (v > 0x7fn) {
			this.scratch.push(Number(v & 0x7fn) | 0x80);
			v >>= 7n;
		}
		this.scratch.push(Number(v));
	}

	private flushScratch(): void {
		if (this.scratch.length === 0) return;
		const b = Uint8Array.from(this.scratch);
		this.chunks.push(b);
		this.length += b.byteLength;
		this.scratch = [];
	}
}
