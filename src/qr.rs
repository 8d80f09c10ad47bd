//! QR codes for rating codes: SVG and PNG of one code, and printable posters (A5 or A4) for one
//! unit, a subtree or the whole city, as one HTML document or a zip archive.

use std::fmt::Write as _;
use std::io::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white space around the code, as the QR standard asks.
const QUIET: usize = 4;

fn matrix(data: &str) -> Result<(usize, Vec<bool>), String> {
    // Level M survives a scuffed poster and keeps the code small.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| e.to_string())?;
    let width = code.width();
    Ok((width, code.to_colors().into_iter().map(|c| c == Color::Dark).collect()))
}

/// Escapes text for XML and HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The QR code of `data` as an SVG document with an accessible title.
pub fn svg(data: &str, title: &str) -> Result<String, String> {
    let (width, dark) = matrix(data)?;
    let size = width + 2 * QUIET;
    let mut path = String::with_capacity(dark.len() * 4);
    for y in 0..width {
        for x in 0..width {
            if dark[y * width + x] {
                let _ = write!(path, "M{} {}h1v1h-1z", x + QUIET, y + QUIET);
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" role=\"img\" aria-labelledby=\"t\"><title id=\"t\">{}</title><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        escape(title)
    ))
}

/// The QR code of `data` as a greyscale PNG, `scale` pixels per module.
pub fn png(data: &str, scale: u32) -> Result<Vec<u8>, String> {
    let (width, dark) = matrix(data)?;
    let scale = scale.clamp(1, 40) as usize;
    let side = (width + 2 * QUIET) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..width {
        for x in 0..width {
            if dark[y * width + x] {
                for dy in 0..scale {
                    let row = ((y + QUIET) * scale + dy) * side;
                    let start = row + (x + QUIET) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
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

/// Every poster as one print-ready HTML document (one poster per page). `progress` is called
/// after each poster.
pub fn posters_html(posters: &[Poster], paper: Paper, mut progress: impl FnMut()) -> Result<String, String> {
    let mut html = String::with_capacity(posters.len() * 12_000);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>评议二维码 Rating codes</title><style>\
         @page {{ size: {paper}; margin: 12mm; }}\
         body {{ margin: 0; font-family: \"PingFang SC\", \"Microsoft YaHei\", \"Noto Sans CJK SC\", sans-serif; color: #1b1f24; }}\
         .poster {{ page-break-after: always; break-after: page; text-align: center; padding: 6mm 0; }}\
         .poster h1 {{ font-size: 22pt; margin: 0 0 2mm; }} .poster h2 {{ font-size: 16pt; margin: 0 0 6mm; font-weight: normal; }}\
         .poster .qr svg {{ width: 95mm; height: 95mm; }}\
         .poster .zh {{ font-size: 18pt; margin: 6mm 0 1mm; font-weight: bold; color: #b3261e; }} .poster .en {{ font-size: 12pt; margin: 0; }}\
         .poster .code {{ font-size: 8pt; color: #57606a; margin-top: 8mm; }}\
         @media screen {{ .poster {{ border-bottom: 1px dashed #d0d7de; }} }}\
         </style></head><body>",
        paper = paper.css()
    );
    for p in posters {
        let title = format!("{} {}", p.unit_name, p.window_name.as_deref().unwrap_or(""));
        let _ = write!(
            html,
            "<section class=\"poster\"><h1>{}</h1>{}<div class=\"qr\">{}</div>\
             <p class=\"zh\">请扫码评价我们的服务</p><p class=\"en\">Scan to rate our service</p>\
             <p class=\"code\">{} · {}</p></section>",
            escape(&p.unit_name),
            p.window_name.as_deref().map(|w| format!("<h2>{}</h2>", escape(w))).unwrap_or_default(),
            svg(&p.url, title.trim())?,
            escape(&p.org_code),
            escape(&p.url),
        );
        progress();
    }
    html.push_str("</body></html>");
    Ok(html)
}

/// A zip archive with the posters document and, per code, its SVG and PNG.
pub fn posters_zip(posters: &[Poster], paper: Paper, mut progress: impl FnMut()) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let err = |e: zip::result::ZipError| e.to_string();
    for p in posters {
        let title = format!("{} {}", p.unit_name, p.window_name.as_deref().unwrap_or(""));
        zip.start_file(format!("svg/{}.svg", p.org_code), opts).map_err(err)?;
        zip.write_all(svg(&p.url, title.trim())?.as_bytes()).map_err(|e| e.to_string())?;
        zip.start_file(format!("png/{}.png", p.org_code), opts).map_err(err)?;
        zip.write_all(&png(&p.url, 10)?).map_err(|e| e.to_string())?;
        progress();
    }
    zip.start_file("posters.html", opts).map_err(err)?;
    zip.write_all(posters_html(posters, paper, || {})?.as_bytes()).map_err(|e| e.to_string())?;
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
        let (w, _) = matrix(url).unwrap_or_else(|e| panic!("{e}"));
        let side = u32::from_be_bytes([p[16], p[17], p[18], p[19]]);
        assert_eq!(side as usize, (w + 2 * QUIET) * 4);
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
