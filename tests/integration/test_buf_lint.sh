#!/usr/bin/env bash
# test_buf_lint.sh - the public API in proto/ passes `buf lint` with zero
# findings, and every service, RPC, message, field, oneof, enum and enum value
# of dropship.v1 has a leading comment (buf's COMMENTS rules on top of the
# repository's buf.yaml). A negative control proves the comment check can
# fail: a copy of the protos with one comment removed must be reported.
#
# Environment (set by ctest): DS_SOURCE_DIR (repository root), DS_BUF (buf).
set -euo pipefail

: "${DS_SOURCE_DIR:?DS_SOURCE_DIR must point at the repository root}"
: "${DS_BUF:?DS_BUF must point at the buf binary}"
if [ ! -x "$DS_BUF" ]; then
    echo "FAIL: buf not found or not executable at $DS_BUF" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BUF_CACHE_DIR="$work/cache"

# Runs buf lint in directory $1 with optional extra args; findings go to
# $work/findings. Returns buf's exit code.
lint() {
    local dir=$1
    shift
    (cd "$dir" && timeout 120 "$DS_BUF" lint --error-format text "$@") >"$work/findings" 2>"$work/stderr"
}

# The same modules and ignores as buf.yaml, plus the COMMENTS category.
comments_config='{"version":"v2","modules":[{"path":"proto"}],
  "lint":{"use":["DEFAULT","COMMENTS"],"ignore":["proto/google"]}}'

status=0

# 1. buf lint with the repository's own buf.yaml.
if ! lint "$DS_SOURCE_DIR" || [ -s "$work/findings" ]; then
    echo "FAIL: buf lint (buf.yaml) reported findings:" >&2
    cat "$work/findings" "$work/stderr" >&2
    status=1
else
    echo "ok: buf lint with buf.yaml: no findings"
fi

# 2. Every element of dropship.v1 documented.
if ! lint "$DS_SOURCE_DIR" --config "$comments_config" || [ -s "$work/findings" ]; then
    echo "FAIL: elements without a leading comment:" >&2
    cat "$work/findings" "$work/stderr" >&2
    status=1
else
    echo "ok: every service, rpc, message, field and enum value has a comment"
fi

# 3. Negative control: remove the comment above `message Money` in a copy;
#    the COMMENTS check must report exactly that.
cp -r "$DS_SOURCE_DIR/proto" "$work/proto"
common="$work/proto/dropship/v1/common.proto"
line=$(grep -n '^message Money {' "$common" | cut -d: -f1)
if [ -z "$line" ]; then
    echo "FAIL: negative control: 'message Money {' not found in common.proto" >&2
    exit 1
fi
sed -i "$((line - 1))s|^//.*\$|option java_multiple_files = true;|" "$common"
if lint "$work" --config "$comments_config"; then
    echo "FAIL: negative control: buf lint accepted a message without comment" >&2
    status=1
elif ! grep -q 'Message "Money" should have a non-empty comment' "$work/findings"; then
    echo "FAIL: negative control: expected a COMMENT_MESSAGE finding for Money, got:" >&2
    cat "$work/findings" "$work/stderr" >&2
    status=1
else
    echo "ok: negative control: a missing comment is reported"
fi

exit $status
