//! Reader (and a small writer) for IDX files of unsigned bytes, the container format of
//! the MNIST database.
//!
//! # The IDX format
//!
//! An IDX file stores one dense, row-major tensor:
//!
//! | offset        | size          | content                                              |
//! |---------------|---------------|------------------------------------------------------|
//! | 0             | 2             | two zero bytes                                       |
//! | 2             | 1             | element type code (`0x08` = unsigned byte)           |
//! | 3             | 1             | number of dimensions `n`                             |
//! | 4             | 4 · `n`       | the `n` dimension sizes, big-endian `u32` each       |
//! | 4 + 4 · `n`   | product       | the elements, last dimension varying fastest         |
//!
//! The first four bytes are usually quoted together as the "magic number", e.g. `0x00000803`
//! for a three-dimensional byte tensor (MNIST images: count × rows × columns) and
//! `0x00000801` for a one-dimensional one (MNIST labels).
//!
//! The format defines further element types (signed byte, short, int, float, double), but
//! MNIST only uses unsigned bytes, so this reader accepts type `0x08` alone and refuses the
//! others with a clear error.
//!
//! Files are commonly distributed gzip-compressed. [`read_idx_u8`] and [`parse_idx_u8`]
//! recognise compression by the gzip magic bytes `0x1f 0x8b` at the start of the content
//! (never by the file name), so both `train-images-idx3-ubyte.gz` and its unpacked twin load
//! the same way.
//!
//! The reader is strict: the header must announce exactly the expected number of
//! dimensions, no dimension may be zero, and the data must have exactly the promised length,
//! neither shorter nor longer.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{ModelError, Result};

/// Type code of unsigned-byte elements, the third byte of the magic number.
pub const IDX_TYPE_U8: u8 = 0x08;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Length of the magic number that starts every IDX file.
const MAGIC_LEN: usize = 4;

/// Size in bytes of one dimension entry in the header.
const DIM_LEN: usize = 4;

/// The most data bytes an IDX file may hold: 2^30 (1 GiB; training keeps the images as
/// bytes and as `f32`, five times the file). A gzip stream is decompressed no further than
/// this plus the largest header, so a small file cannot expand without bound.
pub const MAX_IDX_BYTES: usize = 1 << 30;

/// The largest IDX header: the magic number and 255 dimensions.
const MAX_HEADER_LEN: usize = MAGIC_LEN + DIM_LEN * 255;

/// A tensor of unsigned bytes read from an IDX file.
///
/// `data` holds the elements in row-major order (last dimension fastest); its length is
/// always the product of `dims`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxU8 {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes that must have exactly `ndim` dimensions.
///
/// The file may be raw or gzip-compressed; compression is detected from the content.
///
/// # Errors
///
/// [`ModelError::Io`] if the file cannot be read, and every error of [`parse_idx_u8`].
pub fn read_idx_u8(path: &Path, ndim: usize) -> Result<IdxU8> {
    // gzip grows incompressible data by well under 1/64, so no valid file is longer
    let bytes = crate::fsutil::read_bytes(path, (MAX_IDX_BYTES + MAX_IDX_BYTES / 64) as u64)
        .map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    parse_idx_u8(&bytes, ndim, path)
}

/// Parses an IDX file of unsigned bytes, raw or gzip-compressed, that is already in memory.
///
/// `ndim` is the number of dimensions the caller expects; `path` only serves to name the
/// source in error messages.
///
/// # Errors
///
/// * [`ModelError::IdxFormat`] if a gzip stream is corrupt, the magic number is wrong, the
///   element type is not unsigned byte, the number of dimensions differs from `ndim`, the
///   header is cut short, a dimension is zero, the element count overflows `usize`, or
///   bytes follow the promised data;
/// * [`ModelError::IdxTruncated`] if the data is shorter than the header promises.
pub fn parse_idx_u8(bytes: &[u8], ndim: usize, path: &Path) -> Result<IdxU8> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let raw = gunzip(bytes, path)?;
        parse_raw(&raw, ndim, path)
    } else {
        parse_raw(bytes, ndim, path)
    }
}

/// Encodes a tensor of unsigned bytes as a raw (uncompressed) IDX file.
///
/// Intended for tests and tools that write small data sets.
///
/// # Panics
///
/// If the product of `dims` differs from `data.len()`, if there are more than 255
/// dimensions, or if a dimension does not fit in a `u32`.
pub fn encode_idx_u8(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let count: usize = dims.iter().product();
    assert_eq!(
        count,
        data.len(),
        "IDX dimensions {dims:?} describe {count} elements but {} were given",
        data.len()
    );
    let ndim = u8::try_from(dims.len()).expect("an IDX file holds at most 255 dimensions");

    let mut out = Vec::with_capacity(MAGIC_LEN + DIM_LEN * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, IDX_TYPE_U8, ndim]);
    for &dim in dims {
        let dim = u32::try_from(dim).expect("an IDX dimension must fit in a u32");
        out.extend_from_slice(&dim.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Builds an [`ModelError::IdxFormat`] for `path`.
fn format_error(path: &Path, reason: impl Into<String>) -> ModelError {
    ModelError::IdxFormat {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Decompresses a complete gzip stream (possibly several concatenated members).
fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    gunzip_at_most(bytes, path, MAX_IDX_BYTES + MAX_HEADER_LEN)
}

/// Decompresses a gzip stream of at most `cap` bytes.
fn gunzip_at_most(bytes: &[u8], path: &Path, cap: usize) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(cap as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|err| format_error(path, format!("corrupt gzip stream: {err}")))?;
    if raw.len() > cap {
        return Err(format_error(
            path,
            format!("gzip stream decompresses to more than {cap} bytes, the limit of an IDX file"),
        ));
    }
    Ok(raw)
}

/// Parses uncompressed IDX content.
fn parse_raw(bytes: &[u8], ndim: usize, path: &Path) -> Result<IdxU8> {
    // Magic number: 0x00 0x00 <type> <ndim>.
    let Some(magic) = bytes.first_chunk::<MAGIC_LEN>() else {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        return Err(format_error(
            path,
            format!(
                "bad magic 0x{hex}: only {} bytes, too short for the 4-byte magic number",
                bytes.len()
            ),
        ));
    };
    if magic[0] != 0 || magic[1] != 0 {
        return Err(format_error(
            path,
            format!(
                "bad magic 0x{:08x}: the first two bytes must be zero",
                u32::from_be_bytes(*magic)
            ),
        ));
    }
    let type_code = magic[2];
    if type_code != IDX_TYPE_U8 {
        return Err(format_error(
            path,
            format!(
                "unsupported element type code 0x{type_code:02x} \
                 (only 0x{IDX_TYPE_U8:02x}, unsigned byte, is supported)"
            ),
        ));
    }
    let found_ndim = usize::from(magic[3]);
    if found_ndim != ndim {
        return Err(format_error(
            path,
            format!("expected {ndim} dimensions, found {found_ndim}"),
        ));
    }

    // Dimension sizes: ndim big-endian u32 values.
    let header_len = MAGIC_LEN + DIM_LEN * ndim;
    let Some(dim_bytes) = bytes.get(MAGIC_LEN..header_len) else {
        return Err(format_error(
            path,
            format!(
                "truncated header: {ndim} dimensions need a {header_len}-byte header, \
                 file has only {} bytes",
                bytes.len()
            ),
        ));
    };
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(DIM_LEN)
        .map(|chunk| {
            let size = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            // u32 always fits in usize on the 32- and 64-bit targets this crate supports.
            size as usize
        })
        .collect();
    if let Some(axis) = dims.iter().position(|&d| d == 0) {
        return Err(format_error(
            path,
            format!("zero-size dimension {axis} in dimensions {dims:?}"),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            format_error(
                path,
                format!("dimensions {dims:?} describe more elements than fit in memory"),
            )
        })?;

    if expected > MAX_IDX_BYTES {
        return Err(format_error(
            path,
            format!(
                "dimensions {dims:?} describe {expected} elements, more than the limit of \
                 {MAX_IDX_BYTES}"
            ),
        ));
    }

    // Data: exactly `expected` bytes.
    let data = &bytes[header_len..];
    match data.len().cmp(&expected) {
        std::cmp::Ordering::Less => Err(ModelError::IdxTruncated {
            path: path.to_path_buf(),
            expected,
            found: data.len(),
        }),
        std::cmp::Ordering::Greater => Err(format_error(
            path,
            format!(
                "{} trailing bytes after the {expected} bytes of data the header promises",
                data.len() - expected
            ),
        )),
        std::cmp::Ordering::Equal => Ok(IdxU8 {
            dims,
            data: data.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use std::path::PathBuf;

    fn here() -> PathBuf {
        PathBuf::from("test.idx")
    }

    /// Parses `bytes` and returns the error with its message, failing if parsing succeeds.
    fn parse_err(bytes: &[u8], ndim: usize) -> (ModelError, String) {
        let err = parse_idx_u8(bytes, ndim, &here()).expect_err("parsing should fail");
        let msg = err.to_string();
        (err, msg)
    }

    fn assert_format_error(bytes: &[u8], ndim: usize, words: &[&str]) {
        let (err, msg) = parse_err(bytes, ndim);
        assert!(
            matches!(err, ModelError::IdxFormat { .. }),
            "expected IdxFormat, got {err:?}"
        );
        assert!(msg.contains("test.idx"), "message lacks the path: {msg}");
        for word in words {
            assert!(msg.contains(word), "message lacks {word:?}: {msg}");
        }
    }

    fn sample() -> (Vec<usize>, Vec<u8>) {
        let dims = vec![2, 3, 4];
        let data: Vec<u8> = (0..24).map(|i| (i * 11) as u8).collect();
        (dims, data)
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let (dims, data) = sample();
        let bytes = encode_idx_u8(&dims, &data);
        assert_eq!(&bytes[..4], &[0, 0, 0x08, 3]);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 2]);
        assert_eq!(bytes.len(), 4 + 3 * 4 + 24);

        let parsed = parse_idx_u8(&bytes, 3, &here()).unwrap();
        assert_eq!(parsed, IdxU8 { dims, data });
    }

    #[test]
    fn gzip_file_round_trips() {
        let (dims, data) = sample();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&encode_idx_u8(&dims, &data)).unwrap();
        file.write_all(&encoder.finish().unwrap()).unwrap();
        file.flush().unwrap();

        let parsed = read_idx_u8(file.path(), 3).unwrap();
        assert_eq!(parsed, IdxU8 { dims, data });
    }

    #[test]
    fn raw_file_is_read_without_gzip() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&encode_idx_u8(&[3], &[7, 8, 9])).unwrap();
        file.flush().unwrap();
        let parsed = read_idx_u8(file.path(), 1).unwrap();
        assert_eq!(parsed.dims, vec![3]);
        assert_eq!(parsed.data, vec![7, 8, 9]);
    }

    #[test]
    fn missing_file_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-file.idx");
        let err = read_idx_u8(&path, 1).unwrap_err();
        assert!(matches!(err, ModelError::Io { .. }), "got {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("cannot read"), "{msg}");
        assert!(msg.contains("no-such-file.idx"), "{msg}");
    }

    #[test]
    fn wrong_magic_is_refused() {
        let mut bytes = encode_idx_u8(&[2], &[1, 2]);
        bytes[0] = 0x12;
        bytes[1] = 0x34;
        assert_format_error(&bytes, 1, &["bad magic", "0x12340801"]);
    }

    #[test]
    fn too_short_for_magic_is_refused() {
        assert_format_error(&[0, 0, 8], 1, &["bad magic", "0x000008"]);
        assert_format_error(&[], 1, &["bad magic"]);
    }

    #[test]
    fn wrong_type_code_is_refused() {
        let mut bytes = encode_idx_u8(&[2], &[1, 2]);
        bytes[2] = 0x0d; // float
        assert_format_error(&bytes, 1, &["type code", "0x0d"]);
    }

    #[test]
    fn wrong_dimension_count_is_refused() {
        let bytes = encode_idx_u8(&[2, 2], &[1, 2, 3, 4]);
        assert_format_error(&bytes, 3, &["expected 3 dimensions, found 2"]);
    }

    #[test]
    fn truncated_header_is_refused() {
        let bytes = encode_idx_u8(&[2, 2, 2], &[0; 8]);
        // Magic plus one and a half dimension entries.
        assert_format_error(&bytes[..10], 3, &["truncated header", "16-byte header"]);
    }

    #[test]
    fn truncated_data_reports_expected_and_found() {
        let bytes = encode_idx_u8(&[4, 5], &[0; 20]);
        let header = 4 + 2 * 4;
        let (err, msg) = parse_err(&bytes[..header + 13], 2);
        match err {
            ModelError::IdxTruncated {
                expected, found, ..
            } => {
                assert_eq!(expected, 20);
                assert_eq!(found, 13);
            }
            other => panic!("expected IdxTruncated, got {other:?}"),
        }
        assert!(msg.contains("truncated"), "{msg}");
        assert!(msg.contains("20"), "{msg}");
        assert!(msg.contains("13"), "{msg}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_idx_u8(&[3], &[1, 2, 3]);
        bytes.extend_from_slice(&[0xaa; 5]);
        assert_format_error(&bytes, 1, &["5 trailing bytes"]);
    }

    #[test]
    fn sizes_beyond_the_limit_are_refused_before_reading_data() {
        let mut bytes = vec![0, 0, 0x08, 3];
        for d in [1u32 << 15, 1 << 15, 2] {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        assert_format_error(&bytes, 3, &["2147483648 elements", "1073741824"]);
    }

    #[test]
    fn a_gzip_stream_is_decompressed_no_further_than_the_cap() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0u8; 4096]).unwrap();
        let bytes = gz.finish().unwrap();
        let p = Path::new("bomb.gz");
        assert_eq!(gunzip_at_most(&bytes, p, 4096).unwrap().len(), 4096);
        let e = gunzip_at_most(&bytes, p, 4095).unwrap_err().to_string();
        assert!(
            e.contains("bomb.gz") && e.contains("more than 4095 bytes"),
            "{e}"
        );
    }

    #[test]
    fn zero_size_dimension_is_refused() {
        let bytes = encode_idx_u8(&[3, 0], &[]);
        assert_format_error(&bytes, 2, &["zero-size dimension"]);
    }

    #[test]
    fn overflowing_dimensions_are_refused() {
        let mut bytes = vec![0, 0, 0x08, 4];
        for _ in 0..4 {
            bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        assert_format_error(&bytes, 4, &["more elements than fit"]);
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        // A valid gzip member header (magic, deflate, no flags, mtime, xfl, os)
        // followed by bytes that are not a valid deflate stream.
        let mut bytes = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff];
        bytes.extend_from_slice(&[0xff; 32]);
        assert_format_error(&bytes, 1, &["corrupt gzip stream"]);
    }

    #[test]
    fn cut_off_gzip_is_refused() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&encode_idx_u8(&[64], &[3; 64])).unwrap();
        let gz = encoder.finish().unwrap();
        assert_format_error(&gz[..gz.len() - 6], 1, &["corrupt gzip stream"]);
    }

    #[test]
    #[should_panic(expected = "describe 6 elements")]
    fn encode_rejects_mismatched_length() {
        encode_idx_u8(&[2, 3], &[0; 5]);
    }
}
