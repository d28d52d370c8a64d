#!/usr/bin/env bash
# Superseded by bench/compare.sh (vit4j vs PyTorch and ONNX Runtime's Java API, same weights, same input,
# same threads); kept so that `bench/compare-cpu.sh [MODEL] [BATCH] [BACKEND]` still works.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/compare.sh" "$@"
