// How the host names where an SAE or a transcoder sits (hover header, Features view, status item).

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { saeSite } from '../../src/protocol/engineProtocol';

describe('saeSite', () => {
	it('an SAE is its hook; a transcoder names its layer and both hooks', () => {
		assert.equal(saeSite({ hookName: 'blocks.2.hook_resid_pre' }), 'blocks.2.hook_resid_pre');
		assert.equal(
			saeSite({ hookName: 'blocks.2.ln2.hook_normalized', transcoder: { hookNameOut: 'blocks.2.hook_mlp_out' } }),
			'layer 2 transcoder blocks.2.ln2.hook_normalized → blocks.2.hook_mlp_out',
		);
		assert.equal(saeSite({ hookName: 'hook_embed', transcoder: { hookNameOut: 'x' } }), 'transcoder hook_embed → x');
	});
});
