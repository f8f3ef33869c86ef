// Writes models/pycode/transcoders/README.md, the demo transcoder set's card, from the numbers
// make.sh measured (tools/demo-transcoders/build/train.json, models/pycode/transcoders/eval.json,
// tools/demo-transcoders/build/eval-saelens.json).
//   node tools/demo-transcoders/card.mjs

import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(import.meta.dirname, '..', '..');
const out = path.join(root, 'models', 'pycode', 'transcoders');
const train = JSON.parse(fs.readFileSync(path.join(root, 'tools', 'demo-transcoders', 'build', 'train.json'), 'utf8'));
const evalSet = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
const evalF32 = JSON.parse(fs.readFileSync(path.join(root, 'tools', 'demo-transcoders', 'build', 'eval-saelens.json'), 'utf8'));
const f = (x, d = 3) => x.toFixed(d);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const bytes = fs
	.readdirSync(out)
	.filter((n) => n.endsWith('.safetensors'))
	.reduce((a, n) => a + fs.statSync(path.join(out, n)).size, 0);

const rows = evalSet.layers.map((l, i) => {
	const t = train.layers.find((x) => x.layer === i);
	return `| ${i} | \`${l.hook_name}\` → \`${l.hook_name_out}\` | ${f(l.l0, 1)} | ${f(l.explained_variance)} | ${f(l.cossim)} | ${pct(l.dead_fraction)} | ${pct(l.dense_fraction)} | ${t ? t.tokens_per_s.toLocaleString('en-US') : '–'} |`;
});

const card = `# Demo transcoder set — a transcoder for every MLP of pycode

Four per-layer transcoders, one per MLP of the demo model (\`models/pycode\`, 4 layers,
d_model 192): each reads its block's MLP input \`blocks.L.ln2.hook_normalized\` (the
LayerNorm's output before its gain, as TransformerLens names it) and predicts that MLP's
output \`blocks.L.hook_mlp_out\`. Trained here by Feature Lens's own trainer (onnxruntime, no
Python), so that circuit tracing (attribution graphs) works offline on the demo model.

| file | what |
|---|---|
| \`config.yaml\`, \`layer_L.safetensors\` | circuit-tracer's layout (\`model_kind: transcoder_set\`; \`W_enc [d_sae, d_model]\`, \`W_dec\`, \`b_enc\`, \`b_dec\`, \`activation_function.threshold\`; float16, ${(bytes / 1e6).toFixed(2)} MB together); this copy ships in the extension |
| \`saelens/blocks.L.ln2.hook_normalized/\` | the same transcoders as trained (float32) in SAELens's layout: \`cfg.json\` (\`jumprelu_transcoder\`, \`d_out\`, \`hook_name_out\`), \`sae_weights.safetensors\`, \`sparsity.safetensors\`; in the repository only |
| \`eval.json\` | \`feature-lens eval demo --transcoders models/pycode/transcoders --corpus demo --tokens 100000 --json\` |

Load one layer like an SAE (\`featureLens.sae\`: \`…/models/pycode/transcoders/layer_2.safetensors\`,
or \`feature-lens inspect demo --sae models/pycode/transcoders/layer_2.safetensors …\`); use the
whole set with \`--transcoders models/pycode/transcoders\`.

## Training

- BatchTopK (k = 32 active features per token on average, AuxK on dead features, unit-norm
  decoder rows), saved as JumpReLU with its running threshold, as SAELens saves BatchTopK;
  d_sae 512 (the MLP is 768 wide), no skip term.
- Adam, lr 2e-3 with 5% warm-up and linear decay over the last 20%, batch 4096 tokens,
  1,500,000 tokens per layer (367 steps), BOS-prefixed 128-token windows of the demo corpus
  (the held-out shard, \`models/pycode/corpus\`), 131,072-row shuffle buffer, seed L for layer L.
- The activation store reads each token's MLP input and output in one forward pass into one
  row \`[x_in | y_out]\`; the encoder starts independent of the decoder; b_dec starts at the
  geometric median of the MLP outputs.
- Throughput: the median training step's tokens/s, including any wait for the activation
  store, on 2 CPU threads of a machine shared with other builds and tests, so it follows their
  load; \`npm run transcoders:demo\` (training, both evaluations) took 12 minutes here.

## Evaluation

On ${evalSet.tokens.toLocaleString('en-US')} tokens of the same shard (BOS excluded), with the float16 files that ship:

| | value |
|---|---|
| CE loss clean / every MLP replaced / every MLP zeroed (nats) | ${f(evalSet.ce_loss_without_transcoders)} / ${f(evalSet.ce_loss_with_transcoders)} / ${f(evalSet.ce_loss_with_ablation)} |
| **CE-loss score, every MLP replaced at once** | **${f(evalSet.ce_loss_score)}** |
| KL replaced / zeroed, KL score | ${f(evalSet.kl_div_with_transcoders)} / ${f(evalSet.kl_div_with_ablation)}, ${f(evalSet.kl_div_score)} |
| the float32 SAELens copies: CE-loss score, KL score | ${f(evalF32.ce_loss_score)}, ${f(evalF32.kl_div_score)} |

Per layer, in the clean model (explained variance of the MLP's output; dead: never fired on
these tokens; dense: fired on more than 10% of them):

| layer | hooks | L0 | explained variance | cosine | dead | dense (>10%) | training tokens/s |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The shard is small (370k tokens), so the transcoders train and are evaluated on the same text;
the numbers describe fit, not generalization.

## Reproduce

\`\`\`sh
npm run transcoders:demo        # bash tools/demo-transcoders/make.sh: trains, writes both layouts, evaluates, writes this card
\`\`\`

Licence: the weights are derived from the demo model and its corpus (PSF License, see
\`../corpus/LICENSE\`).
`;
fs.writeFileSync(path.join(out, 'README.md'), card);
console.log(`wrote ${path.join(out, 'README.md')}`);
