//! From a camera frame or an image file to a model's input tensor, in one pass.
//!
//! [`Image`] holds 8-bit RGB pixels: decoded from JPEG or PNG ([`Image::decode`],
//! [`Image::open`]) or taken from a raw buffer with a row stride, as camera pipelines deliver
//! them ([`Image::from_raw`]: RGB, RGBA, BGR, BGRA or grayscale). [`Preprocess`] says how to
//! make a model input of it; [`Preprocess::tensor`] reads the input's [`TensorInfo`] and shape
//! for the layout (NHWC or NCHW, 3 or 1 channels), size and type, and writes each input
//! element once, straight from the source pixels: resizing, fitting, channel order,
//! normalization, layout and quantization happen in the same loop, with no intermediate image.
//!
//! Geometry, for an input `W`×`H` and a source `w`×`h`:
//! - [`Fit::Stretch`] maps the whole source onto the whole input;
//! - [`Fit::Letterbox`] scales by `min(W/w, H/h)`, keeping the aspect ratio (the scaled size
//!   is rounded to whole input pixels, so the two axes' scales may differ by less than a
//!   pixel's worth), centres the result and fills the rest with a pad colour;
//! - [`Fit::CenterCrop`] scales by `max(W/w, H/h)` and keeps the centre.
//!
//! Sampling uses pixel centres (an input pixel `x` looks at source coordinate
//! `(x + 0.5) / scale - 0.5`, as OpenCV's `INTER_LINEAR` and TensorFlow's
//! `half_pixel_centers` do). [`Resize::Bilinear`] interpolates the four nearest source pixels
//! (edges clamped) and rounds to 8 bits, as resizing an 8-bit image does; [`Resize::Nearest`]
//! takes the pixel the centre falls in. There is no antialiasing: a large downscale samples,
//! as camera pipelines usually do.
//!
//! A JPEG's EXIF orientation is applied when decoding, so a camera photo stands upright. The
//! layout is NHWC when the last dimension is 3 (or 1) channels and NCHW when the second is;
//! where both could be (`[1,3,H,3]`), 3 channels at the end win.
//!
//! Values: each channel's 8-bit value `p` becomes a real number by [`Normalize`]; a float input
//! takes it as is, an int8 or uint8 input with quantization parameters takes
//! `round(real / scale) + zero_point` clamped to the type, and a uint8 input without them
//! takes `p` itself.

use std::path::Path;

use crate::{DType, Data, Error, Result, Tensor, TensorInfo};

/// Largest width or height accepted from a file or buffer.
pub const MAX_SIDE: u32 = 16384;

/// 8-bit RGB pixels, row after row, three bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// How the bytes of a raw buffer are laid out per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Rgb8,
    Rgba8,
    Bgr8,
    Bgra8,
    Gray8,
}

impl PixelFormat {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
            PixelFormat::Gray8 => 1,
        }
    }
}

fn image_error(what: &str, reason: impl Into<String>) -> Error {
    Error::Image {
        what: what.to_string(),
        reason: reason.into(),
    }
}

impl Image {
    /// Decode a JPEG or PNG held in memory.
    ///
    /// # Errors
    /// [`Error::Image`] when the bytes are not a JPEG or PNG, are corrupt, or describe an image
    /// wider or taller than [`MAX_SIDE`].
    pub fn decode(bytes: &[u8]) -> Result<Image> {
        Image::decode_named(bytes, "in memory")
    }

    /// Read and decode a JPEG or PNG file.
    ///
    /// # Errors
    /// [`Error::FileNotFound`], [`Error::NotAFile`] or [`Error::Io`] when the file cannot be
    /// read, [`Error::TooLarge`] when it is larger than a tensor may be; else as
    /// [`Image::decode`].
    pub fn open(path: impl AsRef<Path>) -> Result<Image> {
        let path = path.as_ref();
        let max = edgerun_core::limits::max_tensor_bytes();
        let bytes = edgerun_core::limits::read_file("image file", path, max)?;
        Image::decode_named(&bytes, &path.display().to_string())
    }

    fn decode_named(bytes: &[u8], name: &str) -> Result<Image> {
        let format = image::guess_format(bytes)
            .ok()
            .filter(|f| matches!(f, image::ImageFormat::Jpeg | image::ImageFormat::Png))
            .ok_or_else(|| {
                image_error(
                    name,
                    "not a JPEG or PNG image (its first bytes match neither); convert it to one of them",
                )
            })?;
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(1 << 30);
        reader.limits(limits);
        let fail = |e: image::ImageError| {
            image_error(name, format!("cannot decode it as {format:?}: {e}"))
        };
        // camera JPEGs store their rotation in EXIF: applied, so the pixels stand upright
        let mut decoder = reader.into_decoder().map_err(fail)?;
        let orientation = image::ImageDecoder::orientation(&mut decoder).map_err(fail)?;
        let mut decoded = image::DynamicImage::from_decoder(decoder).map_err(fail)?;
        decoded.apply_orientation(orientation);
        let rgb = decoded.into_rgb8();
        Ok(Image {
            width: rgb.width(),
            height: rgb.height(),
            rgb: rgb.into_raw(),
        })
    }

    /// Pixels from a raw buffer: `height` rows of `stride` bytes each (at least `width` pixels
    /// of `format`; the rest of a row is padding).
    ///
    /// # Errors
    /// [`Error::Image`] for an empty or too large size, a stride shorter than a row, or a
    /// buffer shorter than the rows it should hold.
    pub fn from_raw(
        data: &[u8],
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Image> {
        let name = "raw buffer";
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(image_error(
                name,
                format!("size {width}x{height}: each side must be 1 to {MAX_SIDE}"),
            ));
        }
        let bpp = format.bytes_per_pixel();
        let row = width as usize * bpp;
        if stride < row {
            return Err(image_error(
                name,
                format!("stride {stride} is shorter than a row of {width} {format:?} pixels ({row} bytes)"),
            ));
        }
        let need = stride
            .checked_mul(height as usize - 1)
            .and_then(|n| n.checked_add(row))
            .unwrap_or(usize::MAX);
        if data.len() < need {
            return Err(image_error(
                name,
                format!(
                    "{} bytes hold fewer than {height} rows of stride {stride} ({need} bytes needed)",
                    data.len()
                ),
            ));
        }
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height as usize {
            let line = &data[y * stride..y * stride + row];
            match format {
                PixelFormat::Rgb8 => rgb.extend_from_slice(line),
                PixelFormat::Rgba8 => line
                    .chunks_exact(4)
                    .for_each(|p| rgb.extend_from_slice(&p[..3])),
                PixelFormat::Bgr8 => line
                    .chunks_exact(3)
                    .for_each(|p| rgb.extend_from_slice(&[p[2], p[1], p[0]])),
                PixelFormat::Bgra8 => line
                    .chunks_exact(4)
                    .for_each(|p| rgb.extend_from_slice(&[p[2], p[1], p[0]])),
                PixelFormat::Gray8 => line.iter().for_each(|&g| rgb.extend_from_slice(&[g, g, g])),
            }
        }
        Ok(Image { width, height, rgb })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, RGB, row after row.
    pub fn pixels(&self) -> &[u8] {
        &self.rgb
    }

    /// The RGB value at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// How the source is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resize {
    #[default]
    Bilinear,
    Nearest,
}

/// How the source's aspect ratio meets the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// The whole source onto the whole input (aspect ratio not kept).
    #[default]
    Stretch,
    /// Keep the aspect ratio, centre, and pad with this RGB colour.
    Letterbox { pad: [u8; 3] },
    /// Keep the aspect ratio and the centre; cut what sticks out.
    CenterCrop,
}

/// The channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

/// How an 8-bit value `p` becomes the real number the model sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalize {
    /// `p` itself, 0 to 255.
    Raw,
    /// Linearly onto `[lo, hi]`: `lo + p / 255 × (hi − lo)`. `Range(0.0, 1.0)` is the default.
    Range(f32, f32),
    /// Per channel (in the model's order), on the 0–1 scale: `(p / 255 − mean) / std`, as
    /// torchvision's ImageNet constants are given.
    MeanStd { mean: [f32; 3], std: [f32; 3] },
}

impl Default for Normalize {
    fn default() -> Normalize {
        Normalize::Range(0.0, 1.0)
    }
}

impl Normalize {
    fn real(&self, p: u8, channel: usize) -> f32 {
        let p = f32::from(p);
        match *self {
            Normalize::Raw => p,
            Normalize::Range(lo, hi) => lo + p / 255.0 * (hi - lo),
            Normalize::MeanStd { mean, std } => (p / 255.0 - mean[channel]) / std[channel],
        }
    }
}

/// Where a point of the model's input lies in the source image (for mapping detections back).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Input pixels per source pixel, horizontally and vertically.
    pub scale: (f32, f32),
    /// Input coordinate of the source's origin (negative when the source was cropped).
    pub offset: (f32, f32),
}

impl Geometry {
    /// The source coordinates of input coordinates `(x, y)` (pixel units, corners at whole
    /// numbers).
    pub fn to_source(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.offset.0) / self.scale.0,
            (y - self.offset.1) / self.scale.1,
        )
    }
}

/// Where the spatial and channel axes of a 4-D image input are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Nhwc,
    Nchw,
}

/// How to make a model input of an [`Image`]. The defaults: bilinear, stretch, RGB, `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Preprocess {
    pub resize: Resize,
    pub fit: Fit,
    pub order: ChannelOrder,
    pub normalize: Normalize,
}

/// The layout, height, width and channels of an image input of this shape.
///
/// # Errors
/// [`Error::Image`] when the shape is not `[1, H, W, C]` or `[1, C, H, W]` with 1 or 3
/// channels.
pub fn image_layout(info: &TensorInfo, shape: &[usize]) -> Result<(Layout, usize, usize, usize)> {
    let bad = |why: &str| {
        image_error(
            &format!(
                "for input {:?} [{}]",
                info.name,
                crate::error::shape_string(shape)
            ),
            format!("{why}; an image input is [1,H,W,3], [1,3,H,W] or the same with 1 channel"),
        )
    };
    let [n, a, b, c] = shape else {
        return Err(bad("the input is not 4-dimensional"));
    };
    if *n != 1 {
        return Err(bad(
            "the batch is not 1 (run several images with one input each)",
        ));
    }
    // where both the second and the last dimension could be channels, the one that is 3 wins,
    // then the last (NHWC)
    let (layout, h, w, ch) = if *c == 3 && *a != 3 {
        (Layout::Nhwc, *a, *b, *c)
    } else if *a == 3 && *c != 3 {
        (Layout::Nchw, *b, *c, *a)
    } else if matches!(c, 1 | 3) {
        (Layout::Nhwc, *a, *b, *c)
    } else if *a == 1 {
        (Layout::Nchw, *b, *c, *a)
    } else {
        return Err(bad(
            "neither the last nor the second dimension is 1 or 3 channels",
        ));
    };
    if h == 0 || w == 0 {
        return Err(bad("the height or width is 0"));
    }
    if h > MAX_SIDE as usize || w > MAX_SIDE as usize {
        return Err(bad(&format!("the height or width is over {MAX_SIDE}")));
    }
    Ok((layout, h, w, ch))
}

impl Preprocess {
    pub fn new() -> Preprocess {
        Preprocess::default()
    }

    pub fn with_resize(mut self, resize: Resize) -> Preprocess {
        self.resize = resize;
        self
    }

    pub fn with_fit(mut self, fit: Fit) -> Preprocess {
        self.fit = fit;
        self
    }

    pub fn with_order(mut self, order: ChannelOrder) -> Preprocess {
        self.order = order;
        self
    }

    pub fn with_normalize(mut self, normalize: Normalize) -> Preprocess {
        self.normalize = normalize;
        self
    }

    /// Where the source lands in an input of `width`×`height`.
    pub fn geometry(&self, image: &Image, width: usize, height: usize) -> Geometry {
        let (w, h) = (image.width as f32, image.height as f32);
        let (iw, ih) = (width as f32, height as f32);
        match self.fit {
            Fit::Stretch => Geometry {
                scale: (iw / w, ih / h),
                offset: (0.0, 0.0),
            },
            Fit::Letterbox { .. } => {
                let s = (iw / w).min(ih / h);
                // the scaled source covers whole input pixels, centred
                let (sw, sh) = ((w * s).round().max(1.0), (h * s).round().max(1.0));
                Geometry {
                    scale: (sw / w, sh / h),
                    offset: (((iw - sw) / 2.0).floor(), ((ih - sh) / 2.0).floor()),
                }
            }
            Fit::CenterCrop => {
                let s = (iw / w).max(ih / h);
                Geometry {
                    scale: (s, s),
                    offset: ((iw - w * s) / 2.0, (ih - h * s) / 2.0),
                }
            }
        }
    }

    /// The input tensor for `info` at its concrete `shape` (see
    /// [`crate::Model::prepared_shape`]), and where the image lies in it.
    ///
    /// # Errors
    /// [`Error::Image`] when the shape is not an image's (see [`image_layout`]) or the input's
    /// type cannot take pixels (only f32, f16, bf16, f64, u8 and i8 can).
    pub fn tensor(
        &self,
        image: &Image,
        info: &TensorInfo,
        shape: &[usize],
    ) -> Result<(Tensor, Geometry)> {
        let (layout, h, w, ch) = image_layout(info, shape)?;
        let quant = info.quant.filter(|_| !info.dtype.is_float());
        let refuse = |reason: String| image_error(&format!("for input {:?}", info.name), reason);
        match (info.dtype, quant) {
            (DType::F32 | DType::F64 | DType::F16 | DType::BF16 | DType::U8, _)
            | (DType::I8, Some(_)) => {}
            (DType::I8, None) => return Err(refuse(
                "an int8 input without quantization parameters cannot take pixels; give a model whose int8 input has a scale and zero point".into(),
            )),
            (dtype, _) => return Err(refuse(format!(
                "a {dtype} input cannot take pixels (f32, f16, bf16, f64, u8 or quantized i8 can)"
            ))),
        }
        if let Some(q) = quant {
            if !(q.scale.is_finite() && q.scale > 0.0) {
                return Err(refuse(format!(
                    "its quantization scale {} is not a positive number; the model file is wrong",
                    q.scale
                )));
            }
        }
        let geometry = self.geometry(image, w, h);
        let samples = self.samples(image, &geometry, layout, h, w, ch);
        // each channel's 8-bit level to the input's value, through a table per channel
        let plane = h * w;
        let real =
            |c: usize| -> [f32; 256] { std::array::from_fn(|p| self.normalize.real(p as u8, c)) };
        let reals: Vec<[f32; 256]> = (0..ch).map(real).collect();
        let shape = shape.to_vec();
        let tensor = match (info.dtype, quant) {
            (DType::U8, None) => Tensor::from_vec(shape, samples)?,
            (DType::F32, _) => {
                Tensor::from_vec(shape, by_channel(&samples, layout, plane, &reals))?
            }
            (DType::F64, _) => {
                let t: Vec<[f64; 256]> = reals.iter().map(|r| r.map(f64::from)).collect();
                Tensor::from_vec(shape, by_channel(&samples, layout, plane, &t))?
            }
            (DType::F16, _) => {
                let t: Vec<[crate::f16; 256]> =
                    reals.iter().map(|r| r.map(crate::f16::from_f32)).collect();
                Tensor::from_data(shape, Data::F16(by_channel(&samples, layout, plane, &t)))?
            }
            (DType::BF16, _) => {
                let t: Vec<[crate::bf16; 256]> =
                    reals.iter().map(|r| r.map(crate::bf16::from_f32)).collect();
                Tensor::from_data(shape, Data::BF16(by_channel(&samples, layout, plane, &t)))?
            }
            (dtype, Some(q)) => {
                let step = |r: f32| (r / q.scale).round() + q.zero_point as f32;
                if dtype == DType::U8 {
                    let t: Vec<[u8; 256]> = reals
                        .iter()
                        .map(|r| r.map(|v| step(v).clamp(0.0, 255.0) as u8))
                        .collect();
                    Tensor::from_vec(shape, by_channel(&samples, layout, plane, &t))?
                } else {
                    let t: Vec<[i8; 256]> = reals
                        .iter()
                        .map(|r| r.map(|v| step(v).clamp(-128.0, 127.0) as i8))
                        .collect();
                    Tensor::from_vec(shape, by_channel(&samples, layout, plane, &t))?
                }
                .with_quant(Some(q))
            }
            (dtype, None) => unreachable!("{dtype} without quantization was refused above"),
        };
        Ok((tensor, geometry))
    }

    /// The resampled 8-bit values of the input, in its layout and channel order.
    fn samples(
        &self,
        image: &Image,
        g: &Geometry,
        layout: Layout,
        h: usize,
        w: usize,
        ch: usize,
    ) -> Vec<u8> {
        let pad = match self.fit {
            Fit::Letterbox { pad } => Some(pad),
            _ => None,
        };
        let cols = taps(
            w,
            image.width,
            g.scale.0,
            g.offset.0,
            self.resize,
            pad.is_some(),
        );
        let rows = taps(
            h,
            image.height,
            g.scale.1,
            g.offset.1,
            self.resize,
            pad.is_some(),
        );
        let order = match self.order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let stride = image.width as usize * 3;
        let src = &image.rgb;
        let mut out = vec![0u8; h * w * ch];
        for (y, ry) in rows.iter().enumerate() {
            for (x, rx) in cols.iter().enumerate() {
                let rgb = match (ry, rx) {
                    (Some(ry), Some(rx)) => {
                        let (r0, r1) = (ry.a * stride, ry.b * stride);
                        let (c0, c1) = (rx.a * 3, rx.b * 3);
                        std::array::from_fn(|c| {
                            let p = |r: usize, col: usize| f32::from(src[r + col + c]);
                            let top = p(r0, c0) + (p(r0, c1) - p(r0, c0)) * rx.w;
                            let bottom = p(r1, c0) + (p(r1, c1) - p(r1, c0)) * rx.w;
                            (top + (bottom - top) * ry.w).round().clamp(0.0, 255.0) as u8
                        })
                    }
                    _ => pad.unwrap_or_default(),
                };
                if ch == 1 {
                    out[y * w + x] = luma(rgb);
                    continue;
                }
                for (k, &c) in order.iter().enumerate() {
                    let i = match layout {
                        Layout::Nhwc => (y * w + x) * 3 + k,
                        Layout::Nchw => (k * h + y) * w + x,
                    };
                    out[i] = rgb[c];
                }
            }
        }
        out
    }
}

/// Rec. 601 luma in 8 bits: `(77 R + 150 G + 29 B + 128) >> 8`.
fn luma(rgb: [u8; 3]) -> u8 {
    ((77 * u32::from(rgb[0]) + 150 * u32::from(rgb[1]) + 29 * u32::from(rgb[2]) + 128) >> 8) as u8
}

/// Where input position `i` along one axis samples the source: between source positions `a`
/// and `b`, `w` of the way to `b`.
#[derive(Debug, Clone, Copy)]
struct Tap {
    a: usize,
    b: usize,
    w: f32,
}

/// The taps of the `n` input positions along an axis of `len` source pixels; `None` for a
/// position outside the source (letterbox padding) when `pad`.
fn taps(
    n: usize,
    len: u32,
    scale: f32,
    offset: f32,
    resize: Resize,
    pad: bool,
) -> Vec<Option<Tap>> {
    let last = len as usize - 1;
    (0..n)
        .map(|i| {
            // the source coordinate of the input pixel's centre
            let s = (i as f32 + 0.5 - offset) / scale;
            if pad && (s < 0.0 || s >= len as f32) {
                return None;
            }
            Some(match resize {
                Resize::Nearest => {
                    let a = (s.floor().max(0.0) as usize).min(last);
                    Tap { a, b: a, w: 0.0 }
                }
                Resize::Bilinear => {
                    let f = (s - 0.5).clamp(0.0, last as f32);
                    let a = f.floor() as usize;
                    Tap {
                        a,
                        b: (a + 1).min(last),
                        w: f - a as f32,
                    }
                }
            })
        })
        .collect()
}

/// Each 8-bit sample through its channel's table: channels are planes of `plane` values
/// (NCHW) or interleaved (NHWC).
fn by_channel<T: Copy>(
    samples: &[u8],
    layout: Layout,
    plane: usize,
    tables: &[[T; 256]],
) -> Vec<T> {
    match layout {
        Layout::Nchw => samples
            .chunks(plane)
            .zip(tables)
            .flat_map(|(p, t)| p.iter().map(move |&v| t[usize::from(v)]))
            .collect(),
        Layout::Nhwc => {
            let ch = tables.len();
            samples
                .iter()
                .enumerate()
                .map(|(i, &v)| tables[i % ch][usize::from(v)])
                .collect()
        }
    }
}

#[cfg(test)]
mod tests;
