//! The analytic backward pass (eq. 6-7 and the rest of the chain) against central finite
//! differences. In mean-field mode the forward pass is the deterministic function whose exact
//! gradient the straight-through rule computes, so the two must agree.

use nsm_model::forward::{NoiseKey, Pass};
use nsm_model::net::{ModelKind, Network};
use nsm_model::train::{gradients, init_network};

use crate::{options, synthetic_set};

fn params_mut(net: &mut Network) -> Vec<(String, &mut Vec<f32>)> {
    let mut v = Vec::new();
    for (k, l) in net.hidden.iter_mut().enumerate() {
        v.push((format!("hidden[{k}].w"), &mut l.w));
        v.push((format!("hidden[{k}].beta"), &mut l.beta));
        v.push((format!("hidden[{k}].b"), &mut l.b));
    }
    v.push(("output.w".into(), &mut net.output.w));
    v.push(("output.b".into(), &mut net.output.b));
    v
}

fn check_model(model: ModelKind) {
    let data = synthetic_set(12, 10, 3);
    let mut opts = options(model, vec![7, 5]);
    opts.batch_size = 12;
    let mut net = init_network(&opts, &data).unwrap();
    // Move away from the symmetric initial point so every term of the gradient matters.
    for l in &mut net.hidden {
        for (i, b) in l.b.iter_mut().enumerate() {
            *b += 0.1 * (i as f32 - 2.0);
        }
        for (i, b) in l.beta.iter_mut().enumerate() {
            *b *= 1.0 + 0.05 * i as f32;
        }
    }
    let key = NoiseKey {
        seed: 0,
        domain: 0,
        a: 0,
        b: 0,
    };
    let loss = |n: &Network| gradients(n, &data.x, &data.labels, Pass::MeanField, key).loss;
    let analytic = gradients(&net, &data.x, &data.labels, Pass::MeanField, key).grads;
    let mut analytic_net = analytic.clone();
    let analytic_params: Vec<(String, Vec<f32>)> = params_mut(&mut analytic_net)
        .into_iter()
        .map(|(n, v)| (n, v.clone()))
        .collect();

    let mut checked = 0;
    let mut worst = 0f64;
    for (pi, (name, grad)) in analytic_params.iter().enumerate() {
        for (j, &an) in grad.iter().enumerate() {
            let mut plus = net.clone();
            let mut minus = net.clone();
            let p0 = params_mut(&mut plus)[pi].1[j];
            let h = 1e-2 * f64::from(p0.abs()).max(0.1);
            params_mut(&mut plus)[pi].1[j] = (f64::from(p0) + h) as f32;
            params_mut(&mut minus)[pi].1[j] = (f64::from(p0) - h) as f32;
            // the step actually taken after rounding to f32
            let step = f64::from(params_mut(&mut plus)[pi].1[j])
                - f64::from(params_mut(&mut minus)[pi].1[j]);
            let fd = (loss(&plus) - loss(&minus)) / step;
            let an = f64::from(an);
            let err = (fd - an).abs();
            worst = worst.max(err / (1e-3 + an.abs()));
            assert!(
                err <= 2e-4 + 0.03 * an.abs(),
                "{model}: d loss / d {name}[{j}]: analytic {an:.6e}, finite difference {fd:.6e}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} parameters checked");
    eprintln!("{model}: {checked} gradients checked, worst relative error {worst:.2e}");
}

#[test]
fn nsm_gradients_match_finite_differences() {
    check_model(ModelKind::Nsm);
}

#[test]
fn gnsm_gradients_match_finite_differences() {
    check_model(ModelKind::Gnsm);
}

#[test]
fn stnn_gradients_match_finite_differences() {
    check_model(ModelKind::Stnn);
}
