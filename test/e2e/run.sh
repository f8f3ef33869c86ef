#!/usr/bin/env bash
# End-to-end tests in a real VS Code: code-server (VS Code web, from the npm registry) driven
# by playwright-core in Debian's Chromium (see ../shared/recipes/real-vscode.md). Installs
# what it needs (Debian packages, with sudo when not root; code-server in a cache folder
# outside the project), builds this platform's package as `npm run package` does, installs it,
# and runs the tests; the first-run test also installs the next version over it.
# Screenshots and results.json: test-results/e2e/.
#   FEATURE_LENS_E2E_CACHE  where code-server and the .vsix go (default ~/.cache/feature-lens-e2e)
#   CHROMIUM                the browser (default /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${FEATURE_LENS_E2E_CACHE:-$HOME/.cache/feature-lens-e2e}
CODE_SERVER_VERSION=4.100.3
fail() { echo "e2e: $*" >&2; exit 1; }

# Debian packages: Chromium and ripgrep to run, and what code-server's native modules build with.
PACKAGES=(chromium ripgrep build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev)
missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
else
  for c in chromium rg make g++ python3 pkg-config; do command -v "$c" >/dev/null || missing+=("$c"); done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo -n); else
    fail "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) or give this user sudo"
  fi
  command -v apt-get >/dev/null || fail "missing packages ${missing[*]} and no apt-get to install them with"
  echo "e2e: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq || fail "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM (set CHROMIUM)"
export CHROMIUM

if [ ! -x "$CACHE/node_modules/.bin/code-server" ]; then
  echo "e2e: installing code-server $CODE_SERVER_VERSION into $CACHE (once)"
  # Its native modules build with node-gyp, which downloads Node's headers from nodejs.org
  # (unreachable here) unless told where they are: use those installed with this node.
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir=$node_prefix; fi
  mkdir -p "$CACHE"
  # @vscode/ripgrep downloads a binary unless its cache already holds the archive: use Debian's rg.
  RG_CACHE="$(node -p "require('os').tmpdir()")/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$RG_CACHE"
  tmp=$(mktemp -d); cp "$(command -v rg)" "$tmp/rg"
  tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$tmp" rg
  rm -rf "$tmp"
  # As root, npm runs install scripts only with unsafe-perm.
  (cd "$CACHE" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && node -e "const p=require('./package.json');p.allowScripts={'code-server':true,argon2:true};require('fs').writeFileSync('package.json',JSON.stringify(p,null,2))" \
    && npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >"$CACHE/install.log" 2>&1) \
    || { tail -30 "$CACHE/install.log" >&2; fail "installing code-server failed (log: $CACHE/install.log)"; }
  [ -x "$CACHE/node_modules/.bin/code-server" ] || fail "code-server did not install (log: $CACHE/install.log)"
fi

node esbuild.mjs
# The dashboard webview alone in Chromium, fed HTML/script payloads (no code-server needed).
node --import tsx test/e2e/dashboardXss.ts
# The steering sidebar webview alone in Chromium: payloads inert, keyboard, diff marks, state after reload.
node --import tsx test/e2e/steeringView.ts
# The attribution-graph webview alone in Chromium: payloads inert, CSP, keyboard (details, P pins, Enter opens), steering posts the pins.
node --import tsx test/e2e/attributionView.ts
# The package for this machine, and the same build as the next patch version, to test an update.
TARGET=$(node -p "process.platform + '-' + process.arch")
VERSION=$(node -p "require('./package.json').version")
NEXT=$(node -p "const [a, b, c] = '$VERSION'.split('.').map(Number); [a, b, c + 1].join('.')")
npm run --silent package -- "$TARGET" --out "$CACHE/packages"
npm run --silent package -- "$TARGET" --out "$CACHE/packages-next" --version "$NEXT"
VSIX="$CACHE/packages/feature-lens-$TARGET-$VERSION.vsix"
rm -rf "$CACHE/ext"
"$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext" --user-data-dir "$CACHE/ud" --install-extension "$VSIX" >/dev/null
node test/e2e/inspectSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
node test/e2e/dashboardSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
node test/e2e/steeringSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext" --screenshots media/screenshots
# The demo transcoder set's layer 2 selected: inspect (the hover names the layer), its dashboard, steering.
node test/e2e/transcoderSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
# Attribution graphs on the demo model: trace a completion, a node's dashboard, two pins grouped, steering from them.
node test/e2e/attributionSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext" --screenshots media/screenshots
# A model and an SAE release from a local Hugging Face Hub on 127.0.0.1, through the palette.
node --import tsx test/e2e/hubSmoke.ts --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext"
node test/e2e/firstRunSmoke.mjs --code-server "$CACHE/node_modules/.bin/code-server" --extensions-dir "$CACHE/ext-update" \
  --vsix "$VSIX" --next-vsix "$CACHE/packages-next/feature-lens-$TARGET-$NEXT.vsix"
