#!/usr/bin/env bash
# On-chip learning measurements (docs/learning.md): train a 784-64-10 NSM on the bundled
# MNIST-10k split, quantize it for configs/default.json, then run the fixed-point on-chip rule
# over the 8,000 training images twice, with the float trainer on the same images beside it:
#   1. fine-tuning the quantized network;
#   2. from a randomly initialized output layer.
# Then one fine-tuning run with every row of the update unit computed by the Verilator-compiled
# Verilog and compared with the mirror. Everything goes to runs/onchip-<UTC time>/ (RUN_DIR=...).
#
#   bash scripts/train-onchip.sh
#   NET=path/nsm-64.json bash scripts/train-onchip.sh     # reuse a trained 784-64-10 network
#   VERILATOR_STEPS=500 bash scripts/train-onchip.sh      # shorter Verilator-checked run
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin nsm
nsm=target/release/nsm
run_dir=${RUN_DIR:-runs/onchip-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$run_dir"
cfg=configs/default.json

if [ -n "${NET:-}" ]; then
    cp "$NET" "$run_dir/nsm-64.json"
else
    echo "== training a 784-64-10 NSM (float)"
    "$nsm" train --hidden 64 --quiet --out "$run_dir/nsm-64.json"
fi
"$nsm" quantize --net "$run_dir/nsm-64.json" --config "$cfg" --out "$run_dir/qnet-64.json"

for init in keep random; do
    echo "== on-chip training, output layer: $init (8,000 steps, float comparison beside it)"
    "$nsm" train-onchip --qnet "$run_dir/qnet-64.json" --config "$cfg" --steps 8000 \
        --eval-every 1000 --init-output "$init" --net "$run_dir/nsm-64.json" \
        --out "$run_dir/qnet-64-onchip-$init.json" --curves "$run_dir/curves-$init.json" \
        --plot "$run_dir/curves-$init.svg" --json > "$run_dir/onchip-$init.json"
done

steps=${VERILATOR_STEPS:-8000}
echo "== fine-tuning with the update unit's Verilog in Verilator ($steps steps, every row compared)"
"$nsm" train-onchip --qnet "$run_dir/qnet-64.json" --config "$cfg" --steps "$steps" \
    --eval-every "$steps" --engine verilator --json > "$run_dir/onchip-verilator.json"

python3 - "$run_dir" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
lines = ["| run | engine | steps | test error before | after | float (Adam) before | after | mismatches vs golden |",
         "|---|---|---|---|---|---|---|---|"]
for name in ["keep", "random", "verilator"]:
    r = json.loads((d / f"onchip-{name}.json").read_text())
    fl = r["curves"]["float"]
    fb = f"{fl[0]['test_error_pct']:.2f}%" if fl else "-"
    fa = f"{fl[-1]['test_error_pct']:.2f}%" if fl else "-"
    lines.append(f"| {name} | {r['engine']} | {r['steps']} | {r['test_error_before_pct']:.2f}% | "
                 f"{r['test_error_after_pct']:.2f}% | {fb} | {fa} | {r['mismatches_vs_golden']} |")
text = "\n".join(lines) + "\n"
(d / "summary.md").write_text(text)
print(text)
PY
