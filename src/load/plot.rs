//! The timeline as an SVG: sessions and PeerConnections, the server's CPU, end-to-end latency
//! and loss, one panel each, with one line per run (a run alone, or servers side by side).

use std::path::Path;

use plotters::prelude::*;

use super::report::{Point, Report};

type Series = fn(&Point) -> Option<f64>;

struct Panel {
    title: &'static str,
    lines: &'static [(&'static str, Series)],
}

const PANELS: &[Panel] = &[
    Panel {
        title: "sessions and PeerConnections",
        lines: &[("sessions", |p| Some(p.sessions as f64)), ("connected", |p| Some(p.connected as f64))],
    },
    Panel { title: "server CPU, % of one core", lines: &[("cpu", |p| p.server_cpu_pct)] },
    Panel { title: "end-to-end latency, ms", lines: &[("p50", |p| p.latency_p50_ms), ("p99", |p| p.latency_p99_ms)] },
    Panel { title: "session create, ms", lines: &[("p50", |p| p.create_p50_ms), ("p99", |p| p.create_p99_ms)] },
    Panel { title: "media loss, %", lines: &[("loss", |p| p.loss_pct)] },
];

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Writes the timelines of `runs` (label, report) to `path`.
pub fn plot(path: &Path, title: &str, runs: &[(&str, &Report)]) -> Result<(), String> {
    let height = 220 * PANELS.len() as u32 + 40;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((PANELS.len(), 1));
    for (panel, area) in PANELS.iter().zip(areas.iter()) {
        let points = |series: Series| -> Vec<Vec<(f64, f64)>> {
            runs.iter().map(|(_, r)| r.timeline.iter().filter_map(|p| Some((p.t_s, series(p)?))).collect()).collect()
        };
        let all: Vec<(f64, f64)> = panel.lines.iter().flat_map(|(_, s)| points(*s).into_iter().flatten()).collect();
        let x_max = all.iter().map(|p| p.0).fold(1.0, f64::max);
        let y_max = all.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-3) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc("s").light_line_style(WHITE).draw().map_err(|e| e.to_string())?;
        let mut colour = 0;
        for (name, series) in panel.lines {
            for ((label, _), line) in runs.iter().zip(points(*series)) {
                let c = COLOURS[colour % COLOURS.len()];
                colour += 1;
                let legend = if runs.len() > 1 { format!("{label} {name}") } else { name.to_string() };
                chart
                    .draw_series(LineSeries::new(line, c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(legend)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_writes_an_svg_with_every_panel() {
        let timeline = (0..5)
            .map(|i| Point {
                t_s: i as f64,
                sessions: 10 + i,
                connected: 8,
                server_cpu_pct: Some(20.0),
                ..Point::default()
            })
            .collect();
        let r = Report { timeline, ..Report::default() };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        plot(&path, "test", &[("vroom", &r), ("janus", &r)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        for p in PANELS {
            assert!(svg.contains(p.title), "{}", p.title);
        }
        assert!(svg.contains("janus sessions"));
    }
}
