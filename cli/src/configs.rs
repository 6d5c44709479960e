//! The engine configurations shipped in `configs/`, compiled into the binary, so an installed
//! `nsm` runs its defaults outside the source tree.
//!
//! Wherever a command takes `--config`, the value is a file path or, when no file of that
//! name exists, the name of a shipped configuration (`default`, `up5k`, `hx8k`, `ecp5-25f`,
//! `icebreaker`, `ulx3s`, `formal`, the MNIST board ones and `adaptive`); an optional `--config` that is left out means the command's
//! shipped default.

use std::path::Path;

use anyhow::Result;
use nsm_model::engine::config::EngineConfig;

/// (name, JSON) of every shipped configuration.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../configs/default.json")),
    ("up5k", include_str!("../../configs/up5k.json")),
    ("hx8k", include_str!("../../configs/hx8k.json")),
    ("ecp5-25f", include_str!("../../configs/ecp5-25f.json")),
    ("icebreaker", include_str!("../../configs/icebreaker.json")),
    ("ulx3s", include_str!("../../configs/ulx3s.json")),
    ("formal", include_str!("../../configs/formal.json")),
    (
        "ecp5-25f-binary",
        include_str!("../../configs/ecp5-25f-binary.json"),
    ),
    (
        "icebreaker-mnist",
        include_str!("../../configs/icebreaker-mnist.json"),
    ),
    (
        "ulx3s-mnist",
        include_str!("../../configs/ulx3s-mnist.json"),
    ),
    (
        "ulx3s-85f-mnist",
        include_str!("../../configs/ulx3s-85f-mnist.json"),
    ),
    ("adaptive", include_str!("../../configs/adaptive.json")),
];

/// A configuration and how reports name it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub cfg: EngineConfig,
    /// The file name (`up5k.json` for the shipped one).
    pub file_name: String,
    /// The path, or `configs/<name>.json (built in)`, for messages.
    pub label: String,
}

/// The shipped configuration `name`.
pub fn shipped(name: &str) -> Option<Loaded> {
    let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name)?;
    let label = format!("configs/{name}.json (built in)");
    let cfg = EngineConfig::from_json(text, &label).expect("the shipped configurations are valid");
    Some(Loaded {
        cfg,
        file_name: format!("{name}.json"),
        label,
    })
}

/// The configuration `arg` names (a file, else a shipped name), or without one the shipped
/// `default_name`.
pub fn load(arg: Option<&Path>, default_name: &str) -> Result<Loaded> {
    let Some(path) = arg else {
        return Ok(shipped(default_name).expect("a shipped default"));
    };
    if !path.exists() {
        if let Some(l) = path.to_str().and_then(shipped) {
            return Ok(l);
        }
    }
    let cfg = EngineConfig::load(path)?;
    Ok(Loaded {
        cfg,
        file_name: path
            .file_name()
            .map_or("?".into(), |f| f.to_string_lossy().into_owned()),
        label: path.display().to_string(),
    })
}

/// The configuration of a required `--config`: a file, else a shipped name.
pub fn load_required(arg: &Path) -> Result<EngineConfig> {
    Ok(load(Some(arg), "default")?.cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The boards' MNIST configurations and the ECP5-25F measurement configuration with 1-bit
    /// weights hold the paper's 784-300-300-300-10 network, and the hardware builds them.
    #[test]
    fn the_paper_network_fits_the_mnist_configurations() {
        use nsm_model::engine::qnet::{QLayer, QNet, QOutput};
        use nsm_model::engine::samples::random_layer;
        use rand::SeedableRng;
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        for name in [
            "ecp5-25f-binary",
            "icebreaker-mnist",
            "ulx3s-mnist",
            "ulx3s-85f-mnist",
        ] {
            let cfg = shipped(name).unwrap().cfg;
            nsm_hdl::check_supported(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
            // weights of +-1, valid at every width (1-bit weights have no 0)
            let layer = |rng: &mut rand_xoshiro::Xoshiro256PlusPlus, n_in, n_out| {
                let mut l: QLayer = random_layer(rng, n_in, n_out, 1, 100, 100);
                l.w.iter_mut()
                    .for_each(|w| *w = if *w < 0 { -1 } else { 1 });
                l
            };
            let hidden = vec![
                layer(&mut rng, 784, 300),
                layer(&mut rng, 300, 300),
                layer(&mut rng, 300, 300),
            ];
            let out = layer(&mut rng, 300, 10);
            let output = QOutput {
                n_in: 300,
                n_out: 10,
                w: out.w,
                b: out.b,
            };
            let q = QNet::with_formats(&cfg, hidden, output);
            q.check_against(&cfg)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn every_shipped_configuration_is_the_file_in_configs_and_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut names: Vec<String> = SHIPPED.iter().map(|(n, _)| format!("{n}.json")).collect();
        names.sort();
        assert_eq!(names, on_disk, "every file in configs/ is shipped");
        for (name, text) in SHIPPED {
            let file = EngineConfig::load(&dir.join(format!("{name}.json"))).unwrap();
            assert_eq!(shipped(name).unwrap().cfg, file, "{name}");
            assert_eq!(
                std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
                *text
            );
        }
    }

    #[test]
    fn a_file_wins_over_a_shipped_name_and_a_missing_one_is_named() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("up5k");
        let cfg = EngineConfig {
            rows: 3,
            ..EngineConfig::default_config()
        };
        std::fs::write(&file, cfg.to_json()).unwrap();
        assert_eq!(load(Some(&file), "default").unwrap().cfg.rows, 3);
        assert_eq!(
            load(Some(Path::new("up5k")), "default").unwrap().file_name,
            "up5k.json"
        );
        assert_eq!(load(None, "ulx3s").unwrap().file_name, "ulx3s.json");
        let e = load(Some(Path::new("/nonexistent/x.json")), "default").unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/x.json"), "{e:#}");
    }
}
