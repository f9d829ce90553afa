//! The library's methods on generated columns (no file I/O): the cost of the
//! statistics alone. Whole-command figures come from `syndemic bench`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use syndemic_stats::dsr::{dsr, DsrInput, ESP2013};
use syndemic_stats::life_expectancy::{life_expectancy, AgeBands, AtAges, LifeTableInput};
use syndemic_stats::proportion::proportion;
use syndemic_stats::survey::{rake, weighted_proportion_grouped, Margin, RakeOptions};
use syndemic_stats::ConfidenceLevel;

/// SplitMix64: the same numbers on every machine.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn levels() -> Vec<ConfidenceLevel> {
    vec![ConfidenceLevel::P95, ConfidenceLevel::P99_8]
}

fn bench_proportion(c: &mut Criterion) {
    let mut g = Gen(3);
    let n: Vec<Option<f64>> = (0..1_000_000)
        .map(|_| Some((100 + g.below(5000)) as f64))
        .collect();
    let x: Vec<Option<f64>> = n
        .iter()
        .map(|n| Some(g.below(n.unwrap() as u64 + 1) as f64))
        .collect();
    let mut group = c.benchmark_group("proportion");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(1_000_000));
    group.bench_function("1M rows, 95 and 99.8", |b| {
        b.iter(|| proportion(&x, &n, 100.0, &levels()).unwrap())
    });
    group.finish();
}

fn bench_dsr(c: &mut Criterion) {
    // 7,000 areas × 2 sexes × 20 years × 19 bands.
    let groups_n = 7000 * 2 * 20;
    let mut g = Gen(1);
    let mut groups = Vec::with_capacity(groups_n * 19);
    let mut count = Vec::with_capacity(groups_n * 19);
    let mut pop = Vec::with_capacity(groups_n * 19);
    let mut std = Vec::with_capacity(groups_n * 19);
    for grp in 0..groups_n as u32 {
        for (_, w) in ESP2013 {
            let p = 50 + g.below(150);
            groups.push(grp);
            count.push(Some(g.below(p / 4 + 1) as f64));
            pop.push(Some(p as f64));
            std.push(Some(w));
        }
    }
    let input = DsrInput {
        groups: &groups,
        n_groups: groups_n,
        count: &count,
        population: &pop,
        standard: &std,
        multiplier: 100_000.0,
        non_independent: None,
    };
    let mut group = c.benchmark_group("dsr");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(groups.len() as u64));
    group.bench_function("5.32M rows to 280,000 DSRs", |b| {
        b.iter(|| dsr(&input, &levels()).unwrap())
    });
    group.finish();
}

fn bench_life_expectancy(c: &mut Criterion) {
    // 7,000 areas × 20 years × 20 bands.
    let tables = 7000 * 20;
    let bands = AgeBands::reference();
    let rates = [
        4.0, 0.15, 0.08, 0.1, 0.25, 0.4, 0.5, 0.6, 0.8, 1.1, 1.7, 2.6, 4.0, 6.5, 10.0, 16.0, 27.0,
        47.0, 85.0, 180.0,
    ];
    let mut g = Gen(2);
    let (mut groups, mut start, mut deaths, mut pop) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in 0..tables as u32 {
        for (b, &age) in bands.starts().iter().enumerate() {
            let p = (400 + g.below(400)) as f64;
            groups.push(t);
            start.push(age);
            pop.push(Some(p));
            deaths.push(Some(
                (p * rates[b] / 1000.0 * 3.0).round() + g.below(3) as f64 + 1.0,
            ));
        }
    }
    let input = LifeTableInput {
        groups: &groups,
        n_groups: tables,
        start_age: &start,
        deaths: &deaths,
        population: &pop,
        bands: &bands,
    };
    let mut group = c.benchmark_group("life_expectancy");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(tables as u64));
    group.bench_function("140,000 tables at age 0", |b| {
        b.iter(|| {
            life_expectancy(&input, &AtAges::Ages(vec![0.0]), &[ConfidenceLevel::P95]).unwrap()
        })
    });
    group.finish();
}

/// A million survey responses on four variables (age band 6, sex 2, ethnic
/// group 5, IMD quintile 5), the sample skewed against the population as real
/// surveys are (older, female, least deprived over-represented); raked to the
/// population's margins, then 10,000 groups' weighted proportions.
fn bench_survey(c: &mut Criterion) {
    let n = 1_000_000;
    let mut g = Gen(7);
    let sizes = [6u32, 2, 5, 5];
    let vars: Vec<Vec<u32>> = sizes
        .iter()
        .map(|&k| {
            (0..n)
                .map(|_| {
                    // The lower categories drawn twice as often as the higher.
                    let a = g.below(k as u64) as u32;
                    let b = g.below(k as u64) as u32;
                    a.min(b)
                })
                .collect()
        })
        .collect();
    // Population margins: equal shares of 2,800,000 people per variable.
    let totals: Vec<Vec<f64>> = sizes
        .iter()
        .map(|&k| vec![2_800_000.0 / k as f64; k as usize])
        .collect();
    let margins: Vec<Margin<'_>> = vars
        .iter()
        .zip(&totals)
        .map(|(c, t)| Margin {
            categories: c,
            totals: t,
        })
        .collect();
    let options = RakeOptions {
        max_iterations: 100,
        tolerance: 1e-10,
    };
    let mut group = c.benchmark_group("survey");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(n as u64));
    group.bench_function("rake 1M responses on 4 variables", |b| {
        b.iter(|| {
            let r = rake(n, &margins, None, options).unwrap();
            assert!(r.converged);
            r
        })
    });
    let weights = rake(n, &margins, None, options).unwrap().weights;
    let groups: Vec<u32> = (0..n).map(|_| g.below(10_000) as u32).collect();
    let y: Vec<Option<f64>> = (0..n)
        .map(|_| match g.below(10) {
            0 => None,
            k => Some(f64::from(k < 4)),
        })
        .collect();
    group.bench_function("weighted proportions, 1M responses in 10,000 groups", |b| {
        b.iter(|| {
            weighted_proportion_grouped(&groups, 10_000, &y, &weights, 100.0, &levels()).unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_proportion,
    bench_dsr,
    bench_life_expectancy,
    bench_survey
);
criterion_main!(benches);
