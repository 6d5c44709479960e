//! The MNIST handwritten-digit data set: loading, access and binarization.
//!
//! MNIST is distributed as pairs of IDX files (see [`crate::idx`]): an image file holding a
//! three-dimensional tensor `count × rows × columns` of 8-bit grey levels (0 = background,
//! 255 = full ink) and a label file holding a one-dimensional tensor of `count` digits
//! `0..=9`. The repository bundles a 10,000-digit subset in `data/mnist-10k` (8,000 training
//! and 2,000 test digits, gzip-compressed); the full MNIST files, gzip-compressed or not,
//! load the same way.
//!
//! The networks see binarized images: every pixel becomes `+1` if its grey level is at
//! least [`BINARIZE_THRESHOLD`] and `-1` otherwise ([`binarize`]).

use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::idx::read_idx_u8;

/// Width and height of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;

/// Pixels at or above this value become +1, the rest -1 (binarization of nsm-math.md).
pub const BINARIZE_THRESHOLD: u8 = 128;

/// Number of digit classes; labels lie in `0..NUM_CLASSES`.
const NUM_CLASSES: u8 = 10;

/// Environment variable naming a directory with MNIST files to use instead of the bundled
/// subset.
pub const MNIST_DIR_ENV: &str = "NSM_MNIST_DIR";

/// A set of labelled grey-level images, all of the same size.
///
/// Image `i` occupies `images[i * pixels() .. (i + 1) * pixels()]`, row-major; its digit is
/// `labels[i]`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// All images back to back, row-major, one byte per pixel.
    pub images: Vec<u8>,
    /// One label `0..=9` per image.
    pub labels: Vec<u8>,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the data set holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of pixels per image.
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// The grey levels of image `i`, row-major.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let pixels = self.pixels();
        &self.images[i * pixels..(i + 1) * pixels]
    }

    /// Writes image `i`, binarized to `+1.0` / `-1.0` by [`binarize`], into `out`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()` or `out.len() != self.pixels()`.
    pub fn binarized_into(&self, i: usize, out: &mut [f32]) {
        let image = self.image(i);
        assert_eq!(
            out.len(),
            image.len(),
            "output buffer holds {} values but an image has {} pixels",
            out.len(),
            image.len()
        );
        for (o, &p) in out.iter_mut().zip(image) {
            *o = binarize(p);
        }
    }

    /// The first `n` examples, or all of them if `n >= self.len()`.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n * self.pixels()].to_vec(),
            labels: self.labels[..n].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// Loads an image file (three-dimensional IDX) and a label file (one-dimensional IDX),
    /// each raw or gzip-compressed.
    ///
    /// # Errors
    ///
    /// The errors of [`read_idx_u8`] for either file, and [`ModelError::DatasetMismatch`] if
    /// the two files hold different numbers of examples or a label is not a digit `0..=9`.
    pub fn load(images: &Path, labels: &Path) -> Result<Dataset> {
        let image_tensor = read_idx_u8(images, 3)?;
        let label_tensor = read_idx_u8(labels, 1)?;
        // read_idx_u8 guarantees three dimensions; keep a clear error regardless.
        let [count, rows, cols] = image_tensor.dims[..] else {
            return Err(ModelError::DatasetMismatch(format!(
                "{} does not hold a three-dimensional image tensor",
                images.display()
            )));
        };
        let label_count = label_tensor.data.len();
        if count != label_count {
            return Err(ModelError::DatasetMismatch(format!(
                "{} holds {count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            )));
        }
        if let Some((index, &value)) = label_tensor
            .data
            .iter()
            .enumerate()
            .find(|&(_, &label)| label >= NUM_CLASSES)
        {
            return Err(ModelError::DatasetMismatch(format!(
                "{}: label {index} has value {value}, expected a digit 0..=9",
                labels.display()
            )));
        }
        Ok(Dataset {
            images: image_tensor.data,
            labels: label_tensor.data,
            rows,
            cols,
        })
    }
}

/// Binarizes one grey level: `+1.0` if `pixel >= BINARIZE_THRESHOLD`, else `-1.0`.
pub fn binarize(pixel: u8) -> f32 {
    if pixel >= BINARIZE_THRESHOLD {
        1.0
    } else {
        -1.0
    }
}

/// Which part of MNIST to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training examples.
    Train,
    /// The held-out test examples.
    Test,
}

/// Where the four MNIST files live.
#[derive(Debug, Clone)]
pub struct MnistPaths {
    /// Training images (three-dimensional IDX).
    pub train_images: PathBuf,
    /// Training labels (one-dimensional IDX).
    pub train_labels: PathBuf,
    /// Test images (three-dimensional IDX).
    pub test_images: PathBuf,
    /// Test labels (one-dimensional IDX).
    pub test_labels: PathBuf,
}

/// Candidate base names (without `.gz`) for each file, preferred first. The bundled subset
/// uses the `test-` prefix; the original MNIST distribution names its test files `t10k-`.
const TRAIN_IMAGES: &[&str] = &["train-images-idx3-ubyte"];
const TRAIN_LABELS: &[&str] = &["train-labels-idx1-ubyte"];
const TEST_IMAGES: &[&str] = &["test-images-idx3-ubyte", "t10k-images-idx3-ubyte"];
const TEST_LABELS: &[&str] = &["test-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"];

impl MnistPaths {
    /// The standard file names inside `dir`: `train-images-idx3-ubyte.gz`,
    /// `train-labels-idx1-ubyte.gz`, `test-images-idx3-ubyte.gz` and
    /// `test-labels-idx1-ubyte.gz`.
    ///
    /// For each file the first existing one of these names is chosen: the `.gz` name, the
    /// same name without `.gz` (unpacked files), then for the test files the original
    /// MNIST names `t10k-…-ubyte.gz` and `t10k-…-ubyte`. If none exists the `.gz` name is
    /// kept, so that loading reports the file that was expected.
    pub fn in_dir(dir: &Path) -> MnistPaths {
        MnistPaths {
            train_images: pick_file(dir, TRAIN_IMAGES),
            train_labels: pick_file(dir, TRAIN_LABELS),
            test_images: pick_file(dir, TEST_IMAGES),
            test_labels: pick_file(dir, TEST_LABELS),
        }
    }

    /// The directory named by the environment variable `NSM_MNIST_DIR` if it is set and not
    /// empty, else the repository's bundled `data/mnist-10k`.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os(MNIST_DIR_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k")),
        }
    }

    /// Loads the images and labels of `split`.
    ///
    /// # Errors
    ///
    /// Those of [`Dataset::load`].
    pub fn load(&self, split: Split) -> Result<Dataset> {
        match split {
            Split::Train => Dataset::load(&self.train_images, &self.train_labels),
            Split::Test => Dataset::load(&self.test_images, &self.test_labels),
        }
    }
}

/// Returns the first of `<name>.gz`, `<name>` (for each base name in order) that exists in
/// `dir`, or `<first name>.gz` if none does.
fn pick_file(dir: &Path, base_names: &[&str]) -> PathBuf {
    base_names
        .iter()
        .flat_map(|name| [dir.join(format!("{name}.gz")), dir.join(name)])
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| dir.join(format!("{}.gz", base_names[0])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::encode_idx_u8;

    fn bundled() -> MnistPaths {
        MnistPaths::in_dir(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/mnist-10k"
        )))
    }

    /// Writes raw IDX image and label files into `dir` and returns their paths.
    fn write_pair(dir: &Path, images: (&[usize], &[u8]), labels: &[u8]) -> (PathBuf, PathBuf) {
        let image_path = dir.join("images.idx");
        let label_path = dir.join("labels.idx");
        std::fs::write(&image_path, encode_idx_u8(images.0, images.1)).unwrap();
        std::fs::write(&label_path, encode_idx_u8(&[labels.len()], labels)).unwrap();
        (image_path, label_path)
    }

    #[test]
    fn binarize_thresholds() {
        assert_eq!(binarize(0), -1.0);
        assert_eq!(binarize(127), -1.0);
        assert_eq!(binarize(128), 1.0);
        assert_eq!(binarize(255), 1.0);
    }

    #[test]
    fn bundled_data_loads() {
        let paths = bundled();
        let train = paths.load(Split::Train).unwrap();
        let test = paths.load(Split::Test).unwrap();

        for (set, count) in [(&train, 8000), (&test, 2000)] {
            assert_eq!(set.len(), count);
            assert!(!set.is_empty());
            assert_eq!((set.rows, set.cols), (IMAGE_SIDE, IMAGE_SIDE));
            assert_eq!(set.pixels(), IMAGE_SIDE * IMAGE_SIDE);
            assert_eq!(set.images.len(), count * IMAGE_SIDE * IMAGE_SIDE);
            assert!(set.labels.iter().all(|&l| l <= 9));
        }

        let mut seen = [false; 10];
        for &label in &test.labels {
            seen[usize::from(label)] = true;
        }
        assert!(seen.iter().all(|&s| s), "test classes present: {seen:?}");
    }

    #[test]
    fn accessors_take_and_binarize() {
        let images: Vec<u8> = vec![0, 127, 128, 255, 10, 200, 130, 1, 50, 60, 70, 80];
        let set = Dataset {
            images,
            labels: vec![3, 1, 4],
            rows: 2,
            cols: 2,
        };
        assert_eq!(set.image(1), &[10, 200, 130, 1]);

        let mut out = [0.0f32; 4];
        set.binarized_into(0, &mut out);
        assert_eq!(out, [-1.0, -1.0, 1.0, 1.0]);

        let first_two = set.take(2);
        assert_eq!(first_two.len(), 2);
        assert_eq!(first_two.labels, vec![3, 1]);
        assert_eq!(first_two.images, set.images[..8].to_vec());
        assert_eq!(set.take(10).len(), 3);
        assert!(set.take(0).is_empty());
    }

    #[test]
    fn label_count_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (images, labels) = write_pair(dir.path(), (&[3, 2, 2], &[0; 12]), &[1, 2]);
        let err = Dataset::load(&images, &labels).unwrap_err();
        assert!(matches!(err, ModelError::DatasetMismatch(_)), "{err:?}");
        let msg = err.to_string();
        for word in ["images.idx", "labels.idx", "3 images", "2 labels"] {
            assert!(msg.contains(word), "message lacks {word:?}: {msg}");
        }
    }

    #[test]
    fn label_out_of_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (images, labels) = write_pair(dir.path(), (&[3, 2, 2], &[0; 12]), &[9, 0, 10]);
        let err = Dataset::load(&images, &labels).unwrap_err();
        assert!(matches!(err, ModelError::DatasetMismatch(_)), "{err:?}");
        let msg = err.to_string();
        for word in ["labels.idx", "label 2", "value 10"] {
            assert!(msg.contains(word), "message lacks {word:?}: {msg}");
        }
    }

    #[test]
    fn in_dir_falls_back_to_unpacked_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pixels = [7u8; 2 * 2 * 2];
        for (name, bytes) in [
            (
                "train-images-idx3-ubyte",
                encode_idx_u8(&[2, 2, 2], &pixels),
            ),
            ("train-labels-idx1-ubyte", encode_idx_u8(&[2], &[5, 6])),
            (
                "t10k-images-idx3-ubyte",
                encode_idx_u8(&[1, 2, 2], &pixels[..4]),
            ),
            ("t10k-labels-idx1-ubyte", encode_idx_u8(&[1], &[9])),
        ] {
            std::fs::write(d.join(name), bytes).unwrap();
        }

        let paths = MnistPaths::in_dir(d);
        assert_eq!(paths.train_images, d.join("train-images-idx3-ubyte"));
        assert_eq!(paths.train_labels, d.join("train-labels-idx1-ubyte"));
        assert_eq!(paths.test_images, d.join("t10k-images-idx3-ubyte"));
        assert_eq!(paths.test_labels, d.join("t10k-labels-idx1-ubyte"));

        let train = paths.load(Split::Train).unwrap();
        assert_eq!(train.labels, vec![5, 6]);
        let test = paths.load(Split::Test).unwrap();
        assert_eq!(test.labels, vec![9]);
    }

    #[test]
    fn in_dir_prefers_gz_and_names_it_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("train-images-idx3-ubyte.gz"), b"").unwrap();
        std::fs::write(d.join("train-images-idx3-ubyte"), b"").unwrap();
        let paths = MnistPaths::in_dir(d);
        assert_eq!(paths.train_images, d.join("train-images-idx3-ubyte.gz"));
        // Nothing present: the primary .gz name is reported.
        assert_eq!(paths.test_labels, d.join("test-labels-idx1-ubyte.gz"));
    }
}
