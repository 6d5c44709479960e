//! One table per FPGA family: what `nsm synth` and `nsm bitstream` need to know about it.
//!
//! A [`Family`] holds the Yosys synthesis command, which cells are LUTs, flip-flops, carries,
//! block RAMs and DSPs, how many LUT4s the other cells hold (for the all-LUT4 total), the
//! nextpnr binary and the place-and-route outputs, and the bitstream packer. A [`Device`] is
//! a part of a family as nextpnr names it. Targets of `nsm synth` and boards of
//! `nsm bitstream` only pick a device; the flows read everything else from here.

use std::path::Path;

use serde::Serialize;

use crate::tool::Tool;

/// An FPGA family (or Yosys's technology-independent mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyName {
    Ice40,
    Ecp5,
    Generic,
}

/// Yosys cell types counted under one heading: exact names, or prefixes ending in `*`.
pub type CellNames = &'static [&'static str];

/// A family's row of the table.
#[derive(Debug)]
pub struct Family {
    pub name: FamilyName,
    /// The Yosys pass that synthesizes for the family, `-top` and `-json synth.json` added
    /// ([`Family::synth_command`]); for `generic`, a whole script for the current top.
    pub synth: &'static str,
    pub luts: CellNames,
    pub ffs: CellNames,
    pub carries: CellNames,
    pub brams: CellNames,
    /// Single-port RAM blocks beside the block RAMs (the UP5K's `SB_SPRAM256KA`).
    pub sprams: CellNames,
    pub dsps: CellNames,
    /// LUT4s inside other cells, per cell: added to `luts` for the all-LUT4 total.
    pub lut4s_inside: &'static [(&'static str, u64)],
    /// nextpnr for the family (`None`: no place-and-route).
    pub nextpnr: Option<Tool>,
    /// nextpnr's option for the constraint file.
    pub constraints_flag: &'static str,
    /// nextpnr's option and file for the placed and routed design, which the packer reads.
    pub pnr_output: (&'static str, &'static str),
    /// The bitstream packer: reads `pnr_output`, writes the bitstream.
    pub packer: Option<Tool>,
}

pub const ICE40: Family = Family {
    name: FamilyName::Ice40,
    synth: "synth_ice40",
    luts: &["SB_LUT4"],
    ffs: &["SB_DFF*"],
    carries: &["SB_CARRY"],
    brams: &["SB_RAM40_4K"],
    sprams: &["SB_SPRAM256KA"],
    dsps: &["SB_MAC16"],
    // an adder bit is an SB_LUT4 of its own beside its SB_CARRY: `luts` is complete
    lut4s_inside: &[],
    nextpnr: Some(Tool::NEXTPNR_ICE40),
    constraints_flag: "--pcf",
    pnr_output: ("--asc", "out.asc"),
    packer: Some(Tool::ICEPACK),
};

pub const ECP5: Family = Family {
    name: FamilyName::Ecp5,
    synth: "synth_ecp5",
    luts: &["LUT4"],
    ffs: &["TRELLIS_FF"],
    carries: &["CCU2C"],
    brams: &["DP16KD", "PDPW16KD"],
    sprams: &[],
    dsps: &["MULT18X18D"],
    // two LUT4s in each carry cell, six in a 16x4 distributed RAM: nextpnr's "Total LUT4s"
    lut4s_inside: &[("CCU2C", 2), ("TRELLIS_DPR16X4", 6)],
    nextpnr: Some(Tool::NEXTPNR_ECP5),
    constraints_flag: "--lpf",
    pnr_output: ("--textcfg", "out.config"),
    packer: Some(Tool::ECPPACK),
};

pub const GENERIC: Family = Family {
    name: FamilyName::Generic,
    // stop before memories are mapped to flip-flops, then map logic to 4-input LUTs
    synth: "synth -flatten -run :fine; techmap; opt -fast; abc -lut 4; opt_clean",
    luts: &["$lut"],
    ffs: &[
        "$_DFF*",
        "$_SDFF*",
        "$_DFFE*",
        "$_SDFFE*",
        "$_SDFFCE*",
        "$_ALDFF*",
        "$_DLATCH*",
    ],
    carries: &[],
    brams: &["$mem*"],
    sprams: &[],
    dsps: &["$mul"],
    lut4s_inside: &[],
    nextpnr: None,
    constraints_flag: "",
    pnr_output: ("", ""),
    packer: None,
};

/// A part of a family, as nextpnr selects it.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    pub family: &'static Family,
    /// nextpnr's device and package options.
    pub nextpnr_args: &'static [&'static str],
    /// Map wide multipliers to the iCE40 UP5K's `SB_MAC16` DSPs (`synth_ice40 -dsp`).
    pub dsp: bool,
    /// Map single-port memories to the iCE40 UP5K's `SB_SPRAM256KA`s (`synth_ice40 -spram`);
    /// the engine's weight memory is then written single-port
    /// (`nsm_hdl::WeightRam::SinglePort`).
    pub spram: bool,
}

pub const UP5K_SG48: Device = Device {
    family: &ICE40,
    nextpnr_args: &["--up5k", "--package", "sg48"],
    dsp: true,
    spram: true,
};
pub const HX8K_CT256: Device = Device {
    family: &ICE40,
    nextpnr_args: &["--hx8k", "--package", "ct256"],
    dsp: false,
    spram: false,
};
pub const LFE5U_25F: Device = Device {
    family: &ECP5,
    nextpnr_args: &["--25k", "--package", "CABGA381"],
    dsp: false,
    spram: false,
};
pub const LFE5U_85F: Device = Device {
    family: &ECP5,
    nextpnr_args: &["--85k", "--package", "CABGA381"],
    dsp: false,
    spram: false,
};
pub const GENERIC_LUT4: Device = Device {
    family: &GENERIC,
    nextpnr_args: &[],
    dsp: false,
    spram: false,
};

/// Cell counts of a synthesized design, by heading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CellCounts {
    pub luts: u64,
    /// `luts` and the LUT4s inside other cells ([`Family::lut4s_inside`]).
    pub lut4s_total: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    pub sprams: u64,
    pub dsps: u64,
}

/// Sum of the counts in Yosys's `num_cells_by_type` whose type matches one of `names`.
pub fn count(cells: &serde_json::Value, names: &[&str]) -> u64 {
    cells
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    names.iter().any(|n| {
                        k.as_str() == *n || (n.ends_with('*') && k.starts_with(&n[..n.len() - 1]))
                    })
                })
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

impl Family {
    /// The synthesis step of a Yosys script for top module `top`, writing `synth.json`.
    pub fn synth_command(&self, top: &str, dsp: bool, spram: bool) -> String {
        match self.name {
            FamilyName::Generic => self.synth.to_string(),
            _ => {
                let ice40 = self.name == FamilyName::Ice40;
                let dsp = if dsp && ice40 { " -dsp" } else { "" };
                let spram = if spram && ice40 { " -spram" } else { "" };
                format!("{}{dsp}{spram} -top {top} -json synth.json", self.synth)
            }
        }
    }

    /// The counts of Yosys's `stat -json` cell table `cells` (`design.num_cells_by_type`).
    pub fn count_cells(&self, cells: &serde_json::Value) -> CellCounts {
        let luts = count(cells, self.luts);
        let inside: u64 = self
            .lut4s_inside
            .iter()
            .map(|(cell, n)| n * count(cells, &[cell]))
            .sum();
        CellCounts {
            luts,
            lut4s_total: luts + inside,
            ffs: count(cells, self.ffs),
            carries: count(cells, self.carries),
            brams: count(cells, self.brams),
            sprams: count(cells, self.sprams),
            dsps: count(cells, self.dsps),
        }
    }

    /// Reads the cell table of `stat.json` in `dir` (written by `tee -o stat.json stat -json`).
    pub fn count_stat_file(&self, dir: &Path) -> Option<CellCounts> {
        let stat: serde_json::Value = std::fs::read_to_string(dir.join("stat.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())?;
        Some(self.count_cells(&stat["design"]["num_cells_by_type"]))
    }
}

impl Device {
    /// nextpnr's arguments: the device, the constraint file if any, `synth.json` in, the
    /// placed design and `pnr.json` (the report) out, the clock in MHz, then `extra`.
    pub fn nextpnr_args(
        &self,
        constraints: Option<&str>,
        freq_mhz: f64,
        extra: &[String],
    ) -> Vec<String> {
        let f = self.family;
        let mut a: Vec<String> = self.nextpnr_args.iter().map(|s| s.to_string()).collect();
        if let Some(c) = constraints {
            a.extend([f.constraints_flag.to_string(), c.to_string()]);
        }
        a.extend(
            [
                "--json",
                "synth.json",
                f.pnr_output.0,
                f.pnr_output.1,
                "--report",
                "pnr.json",
            ]
            .map(String::from),
        );
        a.extend(extra.iter().cloned());
        a.extend(["--freq".to_string(), format!("{freq_mhz}")]);
        a
    }
}

/// What nextpnr's `--report` file says: the lowest achieved clock over the clock domains and
/// the resources used (name, used, available; only those used).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PnrReport {
    pub fmax_mhz: Option<f64>,
    pub utilization: Vec<(String, u64, u64)>,
}

/// Reads `pnr.json` in `dir`; `None` if nextpnr wrote none (or none readable).
pub fn read_pnr_report(dir: &Path) -> Option<PnrReport> {
    let r: serde_json::Value = std::fs::read_to_string(dir.join("pnr.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())?;
    let fmax_mhz = r["fmax"].as_object().and_then(|m| {
        m.values()
            .filter_map(|c| c["achieved"].as_f64())
            .reduce(f64::min)
    });
    let utilization = r["utilization"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v["used"].as_u64().unwrap_or(0),
                        v["available"].as_u64().unwrap_or(0),
                    )
                })
                .filter(|(_, used, _)| *used > 0)
                .collect()
        })
        .unwrap_or_default();
    Some(PnrReport {
        fmax_mhz,
        utilization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lut4_is_totalled_per_family() {
        let cells = serde_json::json!({
            "LUT4": 10, "CCU2C": 3, "TRELLIS_DPR16X4": 1, "TRELLIS_FF": 7,
            "SB_LUT4": 5, "SB_DFFE": 2, "SB_DFFSR": 1, "SB_CARRY": 4,
        });
        let e = ECP5.count_cells(&cells);
        assert_eq!(
            (e.luts, e.lut4s_total, e.ffs, e.carries),
            (10, 10 + 6 + 6, 7, 3)
        );
        let i = ICE40.count_cells(&cells);
        assert_eq!((i.luts, i.lut4s_total, i.ffs, i.carries), (5, 5, 3, 4));
    }

    #[test]
    fn synthesis_commands_and_nextpnr_arguments() {
        assert_eq!(
            UP5K_SG48
                .family
                .synth_command("t", UP5K_SG48.dsp, UP5K_SG48.spram),
            "synth_ice40 -dsp -spram -top t -json synth.json"
        );
        assert_eq!(
            HX8K_CT256
                .family
                .synth_command("t", HX8K_CT256.dsp, HX8K_CT256.spram),
            "synth_ice40 -top t -json synth.json"
        );
        assert_eq!(
            LFE5U_25F.family.synth_command("t", true, true),
            "synth_ecp5 -top t -json synth.json"
        );
        let a = LFE5U_85F.nextpnr_args(Some("ulx3s.lpf"), 25.0, &[]);
        assert_eq!(
            a.join(" "),
            "--85k --package CABGA381 --lpf ulx3s.lpf --json synth.json --textcfg out.config --report pnr.json --freq 25"
        );
    }
}
