//! Prometheus's text exposition format (version 0.0.4), written from counts vroom already keeps
//! in its own lock-free counters and histograms. Client crates want to own the metrics they
//! render; here the packet path and the lock watch own them, so this only writes text.

use std::fmt::Write;

use super::histogram::Counts;

/// One exposition: families in the order they are added.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

/// Label pairs of one sample.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"")
}

fn labels(pairs: Labels<'_>, extra: Option<(&str, &str)>) -> String {
    let all: Vec<String> = pairs.iter().copied().chain(extra).map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if all.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", all.join(","))
    }
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, pairs: Labels<'_>, value: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{name}{} {value}", labels(pairs, None));
    }

    fn values(&mut self, name: &str, kind: &str, help: &str, samples: &[(Labels<'_>, u64)]) {
        self.family(name, kind, help);
        for (l, v) in samples {
            self.sample(name, l, v);
        }
    }

    pub fn gauge(&mut self, name: &str, help: &str, samples: &[(Labels<'_>, u64)]) {
        self.values(name, "gauge", help, samples)
    }

    /// `name` ends in `_total`.
    pub fn counter(&mut self, name: &str, help: &str, samples: &[(Labels<'_>, u64)]) {
        self.values(name, "counter", help, samples)
    }

    /// A counter of seconds with no labels (`name` ends in `_seconds_total`).
    pub fn counter_seconds(&mut self, name: &str, help: &str, seconds: f64) {
        self.family(name, "counter", help);
        self.sample(name, &[], seconds);
    }

    /// A histogram of microsecond counts, exposed in seconds (`name` ends in `_seconds`), with
    /// a bucket at each power of two of microseconds up to `2^max_pow`.
    pub fn histogram_us(&mut self, name: &str, help: &str, max_pow: u32, samples: &[(Labels<'_>, &Counts)]) {
        self.family(name, "histogram", help);
        for (l, counts) in samples {
            for (bound_us, below) in counts.cumulative_powers_of_two(max_pow) {
                let le = format!("{}", bound_us as f64 / 1e6);
                let _ = writeln!(self.text, "{name}_bucket{} {below}", labels(l, Some(("le", &le))));
            }
            let _ = writeln!(self.text, "{name}_bucket{} {}", labels(l, Some(("le", "+Inf"))), counts.count());
            let _ = writeln!(self.text, "{name}_sum{} {}", labels(l, None), counts.sum as f64 / 1e6);
            let _ = writeln!(self.text, "{name}_count{} {}", labels(l, None), counts.count());
        }
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::histogram::Histogram;

    #[test]
    fn a_histogram_is_cumulative_in_seconds_and_labels_are_escaped() {
        let h = Histogram::default();
        h.record(3);
        h.record(1_000);
        let mut e = Exposition::default();
        e.histogram_us("x_seconds", "Help.", 10, &[(&[("level", "a\"b")], &h.snapshot())]);
        let text = e.into_text();
        assert!(text.contains("# TYPE x_seconds histogram\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{level=\"a\\\"b\",le=\"0.000004\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{level=\"a\\\"b\",le=\"0.001024\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{level=\"a\\\"b\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_sum{level=\"a\\\"b\"} 0.001003\n"), "{text}");
        assert!(text.contains("x_seconds_count{level=\"a\\\"b\"} 2\n"), "{text}");
    }
}
