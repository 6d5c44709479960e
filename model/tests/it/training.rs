//! Training behaviour: reproducible from the seed, learns on synthetic data and on real MNIST.

use nsm_model::data::{MnistPaths, Split};
use nsm_model::eval::{evaluate_mc, EvalOptions};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::{ModelKind, Network};
use nsm_model::train::{init_network, Trainer};

use crate::{options, synthetic_set};

fn train(model: ModelKind, data: &BinarizedSet, epochs: usize, seed: u64) -> (Network, Vec<f64>) {
    let mut opts = options(model, vec![32, 16]);
    opts.seed = seed;
    opts.epochs = epochs;
    let net = init_network(&opts, data).unwrap();
    let mut t = Trainer::new(net, opts).unwrap();
    let losses = (0..epochs)
        .map(|e| t.train_epoch(data, e, &mut |_, _| {}).unwrap().mean_loss)
        .collect();
    (t.net, losses)
}

#[test]
fn training_is_reproducible_from_the_seed() {
    let data = synthetic_set(200, 40, 1);
    let (a, _) = train(ModelKind::Nsm, &data, 2, 7);
    let (b, _) = train(ModelKind::Nsm, &data, 2, 7);
    let (c, _) = train(ModelKind::Nsm, &data, 2, 8);
    assert_eq!(a.to_json(), b.to_json());
    assert_ne!(a.to_json(), c.to_json());
}

#[test]
fn every_model_learns_the_synthetic_task() {
    let data = synthetic_set(600, 40, 2);
    let test = synthetic_set(200, 40, 2);
    for model in [ModelKind::Nsm, ModelKind::Gnsm, ModelKind::Stnn] {
        let (net, losses) = train(model, &data, 10, 3);
        assert!(
            losses.last().unwrap() < &(0.5 * losses[0]),
            "{model}: loss did not halve: {losses:?}"
        );
        let r = evaluate_mc(
            &net,
            &test,
            EvalOptions {
                mc_samples: 10,
                seed: 1,
            },
        )
        .unwrap();
        assert!(
            r.test_error_pct < 10.0,
            "{model}: {}% test error",
            r.test_error_pct
        );
    }
}

#[test]
fn nsm_learns_real_mnist_digits() {
    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let train_set = BinarizedSet::from_dataset(&paths.load(Split::Train).unwrap().take(2000));
    let test_set = BinarizedSet::from_dataset(&paths.load(Split::Test).unwrap().take(300));
    let mut opts = options(ModelKind::Nsm, vec![100]);
    opts.batch_size = 100;
    let net = init_network(&opts, &train_set).unwrap();
    let before = evaluate_mc(
        &net,
        &test_set,
        EvalOptions {
            mc_samples: 10,
            seed: 1,
        },
    )
    .unwrap();
    let mut t = Trainer::new(net, opts).unwrap();
    for e in 0..3 {
        t.train_epoch(&train_set, e, &mut |_, _| {}).unwrap();
    }
    let after = evaluate_mc(
        &t.net,
        &test_set,
        EvalOptions {
            mc_samples: 10,
            seed: 1,
        },
    )
    .unwrap();
    assert!(
        before.test_error_pct > 50.0,
        "untrained: {}%",
        before.test_error_pct
    );
    assert!(
        after.test_error_pct < 20.0,
        "after 3 epochs: {}%",
        after.test_error_pct
    );
}

#[test]
fn input_noise_needs_gray_levels_and_changes_training() {
    let data = synthetic_set(100, 40, 6);
    let mut opts = options(ModelKind::Nsm, vec![8]);
    opts.input_noise = 0.2;
    let net = init_network(&opts, &data).unwrap();
    let mut t = Trainer::new(net, opts.clone()).unwrap();
    let err = t.train_epoch(&data, 0, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("gray-level"), "{err}");

    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let digits = BinarizedSet::from_dataset(&paths.load(Split::Test).unwrap().take(200));
    let run = |noise: f64| {
        let mut o = options(ModelKind::Nsm, vec![8]);
        o.input_noise = noise;
        let mut t = Trainer::new(init_network(&o, &digits).unwrap(), o).unwrap();
        t.train_epoch(&digits, 0, &mut |_, _| {}).unwrap();
        t.net
    };
    assert_eq!(
        run(0.2).to_json(),
        run(0.2).to_json(),
        "input noise is seeded"
    );
    assert_ne!(
        run(0.2).to_json(),
        run(0.0).to_json(),
        "input noise is applied"
    );
}

#[test]
fn scaled_nsm_keeps_its_test_error() {
    let data = synthetic_set(400, 40, 4);
    let (net, _) = train(ModelKind::Nsm, &data, 3, 1);
    let o = EvalOptions {
        mc_samples: 20,
        seed: 4,
    };
    let base = evaluate_mc(&net, &data, o).unwrap();
    let scaled = evaluate_mc(&net.scaled(0.1), &data, o).unwrap();
    assert!((base.test_error_pct - scaled.test_error_pct).abs() <= 0.5);
}
