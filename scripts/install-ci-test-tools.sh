#!/usr/bin/env bash
# Install the test runners whose real output the CI-report parsing tests read
# (tests/integration/ci), and the official SARIF schema the security tests validate
# against: Go, cargo, Maven with Debian's packaged Surefire and JUnit 4,
# Node with npm; then Jest, mocha and mocha-junit-reporter with npm into the user's
# cache (never into the repository). apt-get runs only as root on Debian or Ubuntu;
# whatever cannot be installed is said, and its tests are skipped with that reason.
set -uo pipefail

apt_install() {
    apt-get install -y -q "$@" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1; }
}

missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || missing+=(cargo)
command -v mvn >/dev/null || missing+=(maven)
# Debian's packaged Maven plugins, used offline (a plugin counts once its jar is there).
plugins=/usr/share/maven-repo/org/apache/maven/plugins
has_plugin() { compgen -G "$plugins/$1/*/$1-*.jar" >/dev/null; }
has_plugin maven-surefire-plugin || missing+=(libsurefire-java)
has_plugin maven-compiler-plugin || missing+=(libmaven-compiler-plugin-java)
has_plugin maven-resources-plugin || missing+=(libmaven-resources-plugin-java)
[ -d /usr/share/maven-repo/junit/junit ] || missing+=(junit4)
command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing ${missing[*]} for the CI-report parsing tests" >&2
        apt_install "${missing[@]}" \
            || echo "Could not install ${missing[*]}; the tests needing them will be skipped" >&2
    else
        echo "The CI-report parsing tests use: ${missing[*]} (not installed; those tests will be skipped)" >&2
    fi
fi

# Jest 29 with jest-junit 16, mocha 10 with mocha-junit-reporter 2: the majors the tests
# were written on.
node_tools="${XDG_CACHE_HOME:-$HOME/.cache}/orchestrate-test-tools/node"
# The official SARIF 2.1.0 JSON schema (its final, rtm.5 text), as Microsoft's SARIF Jest
# matchers ship it (MIT): the security tests validate our SARIF output against it.
sarif_schema=node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json
if [ ! -x "$node_tools/node_modules/.bin/jest" ] \
    || [ ! -d "$node_tools/node_modules/jest-junit" ] \
    || [ ! -d "$node_tools/node_modules/mocha-junit-reporter" ] \
    || [ ! -f "$node_tools/$sarif_schema" ]; then
    if command -v npm >/dev/null; then
        mkdir -p "$node_tools"
        [ -f "$node_tools/package.json" ] || echo '{"private": true}' > "$node_tools/package.json"
        (cd "$node_tools" && npm install --no-audit --no-fund --silent \
            jest@29 jest-junit@16 mocha@10 mocha-junit-reporter@2 \
            @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null 2>&1) \
            || echo "Could not install Jest, mocha and the SARIF schema into $node_tools; their tests will be skipped" >&2
    fi
fi
exit 0
