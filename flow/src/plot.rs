//! A small SVG writer for the reports: one chart, a measured series as dots and a reference
//! curve as a line. Enough for a figure in a README without a plotting dependency.

use std::fmt::Write;

/// A line chart with linear axes.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Series drawn as lines: (legend, points).
    pub lines: Vec<(&'a str, Vec<(f64, f64)>)>,
    /// Series drawn as dots: (legend, points).
    pub dots: Vec<(&'a str, Vec<(f64, f64)>)>,
}

const W: f64 = 720.0;
const H: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart<'_> {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x_range.0) / (self.x_range.1 - self.x_range.0) * (W - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y_range.0) / (self.y_range.1 - self.y_range.0) * (H - TOP - BOTTOM)
    }

    /// The SVG document.
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#,
            W / 2.0,
            escape(self.title)
        );
        // axes and ticks
        let (x0, x1) = (self.px(self.x_range.0), self.px(self.x_range.1));
        let (y0, y1) = (self.py(self.y_range.0), self.py(self.y_range.1));
        let _ = writeln!(
            s,
            r#"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="black"/>"#,
            x1 - x0,
            y0 - y1
        );
        for t in 0..=5 {
            let fx = self.x_range.0 + (self.x_range.1 - self.x_range.0) * f64::from(t) / 5.0;
            let fy = self.y_range.0 + (self.y_range.1 - self.y_range.0) * f64::from(t) / 5.0;
            let (px, py) = (self.px(fx), self.py(fy));
            let _ = writeln!(
                s,
                r##"<line x1="{px}" y1="{y0}" x2="{px}" y2="{y1}" stroke="#ddd"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"##,
                y0 + 18.0,
                tick(fx)
            );
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{py}" x2="{x1}" y2="{py}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                x0 - 6.0,
                py + 4.0,
                tick(fy)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            H - 15.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            escape(self.y_label)
        );
        let mut legend_y = y1 + 18.0;
        let mut color = 0;
        for (name, pts) in &self.lines {
            let c = COLORS[color % COLORS.len()];
            color += 1;
            let path: Vec<String> = pts
                .iter()
                .map(|&(x, y)| format!("{:.2},{:.2}", self.px(x), self.py(y)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
            let _ = writeln!(
                s,
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{c}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                x0 + 12.0,
                legend_y - 4.0,
                x0 + 36.0,
                legend_y - 4.0,
                x0 + 42.0,
                legend_y,
                escape(name)
            );
            legend_y += 18.0;
        }
        for (name, pts) in &self.dots {
            let c = COLORS[color % COLORS.len()];
            color += 1;
            for &(x, y) in pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="3" fill="{c}"/>"#,
                    self.px(x),
                    self.py(y)
                );
            }
            let _ = writeln!(
                s,
                r#"<circle cx="{}" cy="{}" r="4" fill="{c}"/><text x="{}" y="{}">{}</text>"#,
                x0 + 24.0,
                legend_y - 4.0,
                x0 + 42.0,
                legend_y,
                escape(name)
            );
            legend_y += 18.0;
        }
        s.push_str("</svg>\n");
        s
    }
}

fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// Two charts side by side in one SVG document.
pub fn side_by_side(left: &Chart<'_>, right: &Chart<'_>) -> String {
    in_a_row(&[left, right])
}

/// Charts in a row, left to right, in one SVG document.
pub fn in_a_row(charts: &[&Chart<'_>]) -> String {
    let inner = |c: &Chart<'_>, x: f64| {
        c.to_svg().replacen(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"",
            &format!("<svg x=\"{x}\" y=\"0\""),
            1,
        )
    };
    let body: String = charts
        .iter()
        .enumerate()
        .map(|(i, c)| inner(c, i as f64 * W))
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{H}\" viewBox=\"0 0 {w} {H}\">\n{body}</svg>\n",
        w = charts.len() as f64 * W
    )
}
