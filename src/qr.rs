//! QR codes for rating codes: SVG and PNG of one code, and printable posters (A5 or A4) for one
//! unit, a subtree or the whole city, as one HTML document or a zip archive.

use std::fmt::Write as _;
use std::io::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white space around the code, as the QR standard asks.
const QUIET: usize = 4;

/// A QR code's modules: `width` × `width`, row by row, dark or not. Encoding (choosing the mask)
/// is most of the work of a poster, so each code is encoded once and drawn from this.
struct Matrix {
    width: usize,
    dark: Vec<bool>,
}

fn matrix(data: &str) -> Result<Matrix, String> {
    // Level M survives a scuffed poster and keeps the code small.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| e.to_string())?;
    let width = code.width();
    Ok(Matrix { width, dark: code.to_colors().into_iter().map(|c| c == Color::Dark).collect() })
}

/// Escapes text for XML and HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The QR code of `data` as an SVG document with an accessible title.
pub fn svg(data: &str, title: &str) -> Result<String, String> {
    Ok(svg_of(&matrix(data)?, title))
}

fn svg_of(m: &Matrix, title: &str) -> String {
    let (width, dark) = (m.width, &m.dark);
    let size = width + 2 * QUIET;
    let mut path = String::with_capacity(dark.len() * 4);
    for y in 0..width {
        for x in 0..width {
            if dark[y * width + x] {
                let _ = write!(path, "M{} {}h1v1h-1z", x + QUIET, y + QUIET);
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" role=\"img\" aria-labelledby=\"t\"><title id=\"t\">{}</title><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        escape(title)
    )
}

/// The QR code of `data` as a black-and-white PNG (one bit a pixel), `scale` pixels per module.
pub fn png(data: &str, scale: u32) -> Result<Vec<u8>, String> {
    png_of(&matrix(data)?, scale)
}

fn png_of(m: &Matrix, scale: u32) -> Result<Vec<u8>, String> {
    let (width, dark) = (m.width, &m.dark);
    let scale = scale.clamp(1, 40) as usize;
    let side = (width + 2 * QUIET) * scale;
    // Rows of packed bits, most significant first, 1 = white; each row padded to a byte.
    let row_bytes = side.div_ceil(8);
    let mut pixels = Vec::with_capacity(row_bytes * side);
    let mut row = vec![0u8; row_bytes];
    for module_row in 0..width + 2 * QUIET {
        row.fill(0);
        for px in 0..side {
            let (x, y) = ((px / scale).checked_sub(QUIET), module_row.checked_sub(QUIET));
            let is_dark = match (x, y) {
                (Some(x), Some(y)) if x < width && y < width => dark[y * width + x],
                _ => false,
            };
            if !is_dark {
                row[px / 8] |= 0x80 >> (px % 8);
            }
        }
        for _ in 0..scale {
            pixels.extend_from_slice(&row);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Paper size of a poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 148 × 210 mm, one poster per sheet.
    A5,
    /// 210 × 297 mm.
    A4,
}

impl Paper {
    /// Parses `a5` or `a4`.
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a5" => Some(Paper::A5),
            "a4" => Some(Paper::A4),
            _ => None,
        }
    }

    fn css(self) -> &'static str {
        match self {
            Paper::A5 => "A5",
            Paper::A4 => "A4",
        }
    }
}

/// One poster: who is rated and the link the code carries.
#[derive(Debug, Clone)]
pub struct Poster {
    /// The unit's name.
    pub unit_name: String,
    /// The window's name, for window codes.
    pub window_name: Option<String>,
    /// The org code (printed small, for whoever puts the poster up).
    pub org_code: String,
    /// The full rating URL.
    pub url: String,
}

impl Poster {
    /// The title of its QR image: unit and window.
    fn title(&self) -> String {
        format!("{} {}", self.unit_name, self.window_name.as_deref().unwrap_or("")).trim().to_owned()
    }
}

/// Every poster as one print-ready HTML document (one poster per page). `progress` is called
/// after each poster.
pub fn posters_html(posters: &[Poster], paper: Paper, mut progress: impl FnMut()) -> Result<String, String> {
    let mut html = html_head(posters.len(), paper);
    for p in posters {
        push_poster(&mut html, p, &svg_of(&matrix(&p.url)?, &p.title()));
        progress();
    }
    html.push_str(HTML_TAIL);
    Ok(html)
}

/// The posters document's stylesheet, inline so that the document prints on its own once
/// saved; the Content-Security-Policy allows it by its hash (`web::headers`).
pub fn poster_style(paper: Paper) -> String {
    format!(
        "@page {{ size: {paper}; margin: 12mm; }}\
         body {{ margin: 0; font-family: \"PingFang SC\", \"Microsoft YaHei\", \"Noto Sans CJK SC\", sans-serif; color: #1b1f24; }}\
         .poster {{ page-break-after: always; break-after: page; text-align: center; padding: 6mm 0; }}\
         .poster h1 {{ font-size: 22pt; margin: 0 0 2mm; }} .poster h2 {{ font-size: 16pt; margin: 0 0 6mm; font-weight: normal; }}\
         .poster .qr svg {{ width: 95mm; height: 95mm; }}\
         .poster .zh {{ font-size: 18pt; margin: 6mm 0 1mm; font-weight: bold; color: #b3261e; }} .poster .en {{ font-size: 12pt; margin: 0; }}\
         .poster .code {{ font-size: 8pt; color: #57606a; margin-top: 8mm; }}\
         @media screen {{ .poster {{ border-bottom: 1px dashed #d0d7de; }} }}",
        paper = paper.css()
    )
}

/// Both papers, for the Content-Security-Policy's list of allowed inline styles.
pub const PAPERS: [Paper; 2] = [Paper::A5, Paper::A4];

fn html_head(posters: usize, paper: Paper) -> String {
    let mut html = String::with_capacity(posters * 12_000);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>评议二维码 Rating codes</title>\
         <style>{}</style></head><body>",
        poster_style(paper)
    );
    html
}

const HTML_TAIL: &str = "</body></html>";

fn push_poster(html: &mut String, p: &Poster, svg: &str) {
    let _ = write!(
        html,
        "<section class=\"poster\"><h1>{}</h1>{}<div class=\"qr\">{svg}</div>\
         <p class=\"zh\">请扫码评价我们的服务</p><p class=\"en\">Scan to rate our service</p>\
         <p class=\"code\">{} · {}</p></section>",
        escape(&p.unit_name),
        p.window_name.as_deref().map(|w| format!("<h2>{}</h2>", escape(w))).unwrap_or_default(),
        escape(&p.org_code),
        escape(&p.url),
    );
}

/// A zip archive with the posters document and, per code, its SVG and PNG.
pub fn posters_zip(posters: &[Poster], paper: Paper, mut progress: impl FnMut()) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // A PNG is compressed already: deflating it again costs time and saves nothing.
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let err = |e: zip::result::ZipError| e.to_string();
    let mut html = html_head(posters.len(), paper);
    for p in posters {
        let m = matrix(&p.url)?;
        let svg = svg_of(&m, &p.title());
        zip.start_file(format!("svg/{}.svg", p.org_code), opts).map_err(err)?;
        zip.write_all(svg.as_bytes()).map_err(|e| e.to_string())?;
        zip.start_file(format!("png/{}.png", p.org_code), stored).map_err(err)?;
        zip.write_all(&png_of(&m, 10)?).map_err(|e| e.to_string())?;
        push_poster(&mut html, p, &svg);
        progress();
    }
    html.push_str(HTML_TAIL);
    zip.start_file("posters.html", opts).map_err(err)?;
    zip.write_all(html.as_bytes()).map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(err)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_encode_the_same_matrix() {
        let url = "http://127.0.0.1:8080/r/QwExAAAAAAAAAAAAAAAAAAAA";
        let s = svg(url, "城东区 <1号窗口>").unwrap_or_else(|e| panic!("{e}"));
        assert!(s.starts_with("<svg") && s.contains("&lt;1号窗口&gt;"));
        let p = png(url, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&p[1..4], b"PNG");
        let w = matrix(url).unwrap_or_else(|e| panic!("{e}")).width;
        let side = u32::from_be_bytes([p[16], p[17], p[18], p[19]]);
        assert_eq!(side as usize, (w + 2 * QUIET) * 4);
    }

    #[test]
    fn the_archive_holds_each_code_as_svg_and_stored_png_and_the_document_with_the_same_svgs() {
        use std::io::Read as _;
        let posters: Vec<Poster> = ["U1-W1", "U1-W2"]
            .iter()
            .map(|code| Poster {
                unit_name: "派出所".into(),
                window_name: Some(format!("{code}窗口")),
                org_code: (*code).into(),
                url: format!("http://x/r/{code}"),
            })
            .collect();
        let mut seen = 0;
        let bytes = posters_zip(&posters, Paper::A5, || seen += 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen, 2, "progress after each poster");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("{e}"));
        let mut read = |name: &str| {
            let mut f = zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let method = f.compression();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap_or_else(|e| panic!("{e}"));
            (method, out)
        };
        let (_, html) = read("posters.html");
        let html = String::from_utf8(html).unwrap_or_else(|e| panic!("{e}"));
        for p in &posters {
            let (_, svg) = read(&format!("svg/{}.svg", p.org_code));
            let svg = String::from_utf8(svg).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(svg, super::svg(&p.url, &p.title()).unwrap_or_else(|e| panic!("{e}")));
            assert!(html.contains(&svg), "the document shows the same code");
            let (method, png) = read(&format!("png/{}.png", p.org_code));
            assert_eq!(method, zip::CompressionMethod::Stored);
            assert_eq!(png, super::png(&p.url, 10).unwrap_or_else(|e| panic!("{e}")));
        }
        assert_eq!(html.matches("<section class=\"poster\">").count(), 2);
    }

    #[test]
    fn the_png_shows_each_module_black_or_white_at_its_scale() {
        let url = "http://127.0.0.1:8080/r/QwExAAAAAAAAAAAAAAAAAAAA";
        let Matrix { width, dark } = matrix(url).unwrap_or_else(|e| panic!("{e}"));
        let scale = 3;
        let bytes = png(url, scale as u32).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap_or_else(|e| panic!("{e}"));
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or_else(|| panic!("size"))];
        let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One));
        let side = (width + 2 * QUIET) * scale;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        let white = |x: usize, y: usize| buf[y * info.line_size + x / 8] & (0x80 >> (x % 8)) != 0;
        for py in 0..side {
            for px in 0..side {
                let (mx, my) = (px / scale, py / scale);
                let inside = (QUIET..QUIET + width).contains(&mx) && (QUIET..QUIET + width).contains(&my);
                let expect_dark = inside && dark[(my - QUIET) * width + (mx - QUIET)];
                assert_eq!(white(px, py), !expect_dark, "pixel ({px}, {py})");
            }
        }
        assert!(dark.iter().any(|d| *d) && dark.iter().any(|d| !*d), "a real code has both");
    }

    #[test]
    fn a_poster_document_has_one_page_per_code_and_escapes_names() {
        let posters = vec![
            Poster {
                unit_name: "派出所<b>".into(),
                window_name: Some("1号窗口".into()),
                org_code: "U1-W1".into(),
                url: "http://x/r/a".into(),
            },
            Poster {
                unit_name: "卫生院".into(), window_name: None, org_code: "U2".into(), url: "http://x/r/b".into()
            },
        ];
        let mut n = 0;
        let html = posters_html(&posters, Paper::A5, || n += 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 2);
        assert_eq!(html.matches("class=\"poster\"").count(), 2);
        assert!(html.contains("size: A5") && html.contains("派出所&lt;b&gt;") && !html.contains("<b>"));
        let zip = posters_zip(&posters, Paper::A4, || {}).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&zip[..2], b"PK");
    }
}
