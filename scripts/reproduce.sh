#!/usr/bin/env bash
# The main job: install the tools, build, train the paper's PI-MNIST networks on the bundled
# MNIST-10k split and evaluate them with 100 Monte Carlo samples. Everything this run writes
# goes to runs/<UTC timestamp>/ (override with RUN_DIR=...), and a summary table is printed.
#
#   bash scripts/reproduce.sh            # NSM + StNN, paper defaults
#   EPOCHS=5 bash scripts/reproduce.sh   # a quick look
#   SWEEP=1 bash scripts/reproduce.sh    # also the weight-bits x LFSR-width sweep
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-tools.sh
cargo build --release --locked --bin nsm --bin gen-verilog
nsm=target/release/nsm

run_dir=${RUN_DIR:-runs/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$run_dir"
epochs_flag=()
[ -n "${EPOCHS:-}" ] && epochs_flag=(--epochs "$EPOCHS")

for model in nsm stnn; do
    echo "== training $model (log: $run_dir/train-$model.log)"
    "$nsm" train --model "$model" "${epochs_flag[@]}" --out "$run_dir/$model.json" \
        2> >(tee "$run_dir/train-$model.log" >&2)
    "$nsm" eval --net "$run_dir/$model.json" --mc 100 --json > "$run_dir/eval-$model.json"
done
"$nsm" eval --net "$run_dir/nsm.json" --mc 100 --scale 0.1 --json > "$run_dir/eval-nsm-scaled.json"

echo "== quantizing for configs/default.json and running the bit-exact engine model"
"$nsm" quantize --net "$run_dir/nsm.json" --config configs/default.json --out "$run_dir/qnet.json"
"$nsm" eval --qnet "$run_dir/qnet.json" --config configs/default.json --json > "$run_dir/eval-qnet.json"
"$nsm" gates --config configs/default.json --compare-spacing 1 > "$run_dir/gates.md"
"$nsm" plot-firing --qnet "$run_dir/qnet.json" --config configs/default.json --limit 100 \
    --out "$run_dir/firing.svg"
echo "== the hardware: Verilog of the default engine with the network's memory images"
target/release/gen-verilog --config configs/default.json --qnet "$run_dir/qnet.json" --out-dir "$run_dir/verilog"
echo "== the emitted Verilog on Verilator, checked against the bit-exact model (5 test images)"
"$nsm" sim --engine verilator --qnet "$run_dir/qnet.json" --config configs/default.json --images 5 \
    --json > "$run_dir/sim-verilator.json"
if [ -n "${SWEEP:-}" ]; then
    echo "== sweep: weight bits 2..8 x LFSR width 8/16/32 (several minutes)"
    "$nsm" sweep --net "$run_dir/nsm.json" --out "$run_dir/sweep.md"
fi

python3 - "$run_dir" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
rows = [("NSM 784-300-300-300-10", "eval-nsm.json"),
        ("StNN 784-300-300-300-10", "eval-stnn.json"),
        ("NSM scaled (x0.1)", "eval-nsm-scaled.json"),
        ("NSM, bit-exact engine model (configs/default.json)", "eval-qnet.json")]
lines = ["| network | test error (MC-100, 2,000 images) |", "|---|---|"]
for name, f in rows:
    r = json.loads((d / f).read_text())
    lines.append(f"| {name} | {r['test_error_pct']:.2f}% |")
sim = json.loads((d / "sim-verilator.json").read_text())
lines.append("")
lines.append(f"Verilator run of the emitted engine: {sim['images']} images, "
             f"{sim['mismatches_vs_golden']} mismatches vs the bit-exact model, "
             f"{sim['cycles_per_inference']:.0f} cycles per inference, utilization {100 * sim['utilization']:.1f}%")
table = "\n".join(lines)
(d / "summary.md").write_text(table + "\n")
print(table)
PY
echo "results in $run_dir"
