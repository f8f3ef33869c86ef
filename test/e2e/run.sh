#!/usr/bin/env bash
# End-to-end tests in a real VS Code: code-server (VS Code web, from the npm registry) driven
# by playwright-core in Debian's Chromium (see ../shared/recipes/real-vscode.md). Installs
# what it needs (Debian packages, code-server in a cache folder outside the project), packages
# the extension as a .vsix, installs it, and runs the smoke test. Screenshots: test-results/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${FEATURE_LENS_E2E_CACHE:-$HOME/.cache/feature-lens-e2e}
if ! command -v chromium >/dev/null || ! command -v rg >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep >/dev/null
fi
if [ ! -x "$CACHE/node_modules/.bin/code-server" ]; then
  mkdir -p "$CACHE"
  # @vscode/ripgrep downloads a binary unless its cache already holds the archive: use Debian's rg.
  RG_CACHE="$(node -p "require('os').tmpdir()")/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$RG_CACHE"
  tmp=$(mktemp -d); cp "$(command -v rg)" "$tmp/rg"
  tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$tmp" rg
  (cd "$CACHE" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && node -e "const p=require('./package.json');p.allowScripts={'code-server':true,argon2:true};require('fs').writeFileSync('package.json',JSON.stringify(p,null,2))" \
    && npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund code-server@4.100.3 >/dev/null)
fi
node esbuild.mjs
# The dashboard webview alone in Chromium, fed HTML/script payloads (no code-server needed).
node --import tsx test/e2e/dashboardXss.ts
# The steering sidebar webview alone in Chromium: payloads inert, keyboard, diff marks, state after reload.
node --import tsx test/e2e/steeringView.ts
npx vsce package --allow-missing-repository --skip-license --no-rewrite-relative-links -o "$CACHE/feature-lens.vsix" >/dev/null
rm -rf "$CACHE/ext"
"$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext" --user-data-dir "$CACHE/ud" --install-extension "$CACHE/feature-lens.vsix" >/dev/null
node test/e2e/inspectSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
node test/e2e/dashboardSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
node test/e2e/steeringSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
