//! Solver benchmarks: the blocked solver and the one-edge
//! incremental update against a naive triple-loop Floyd–Warshall, in the
//! same run, on random dense graphs of N = 64, 256, 1024, 2048 nodes.
//!
//! Graphs: every directed edge present, true one-way delay uniform in
//! 1–100 ms plus per-node clock offsets of up to ±10 s (so about half the
//! measured weights are negative), no additional cost. Seeds are fixed.
//! `slow-path` is the same graph with a 2 s additional cost on every node:
//! round trips then exceed what the reweighted `u32` fast path holds, so
//! the solver takes its exact `f64` path.
//!
//! Run: `cargo bench --bench solver` (see benches/README.md for the table).

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use egd_routing::{DenseGraph, Latency, NodeId, Solution, solve};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [64, 256, 1024, 2048];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn micros(us: i64) -> Latency {
    Latency::from_micros(us).unwrap_or_default()
}

/// A complete directed graph of `n` nodes with offset-skewed weights.
fn random_dense(n: usize, seed: u64) -> DenseGraph {
    let mut rng = Rng(seed | 1);
    let ids: Vec<NodeId> = (1..=n as u16).filter_map(NodeId::new).collect();
    let theta: Vec<i64> = ids
        .iter()
        .map(|_| (rng.next() % 20_000_001) as i64 - 10_000_000)
        .collect();
    let mut g = DenseGraph::new(ids.iter().copied());
    for (s, &src) in ids.iter().enumerate() {
        for (d, &dst) in ids.iter().enumerate() {
            if s != d {
                let delay = 1_000 + (rng.next() % 99_001) as i64;
                let _ = g.set_edge(src, dst, Some(micros(delay + theta[d] - theta[s])));
            }
        }
    }
    g
}

/// The textbook triple loop with next-hop tracking (what upstream runs), on a
/// flat `f64` matrix in seconds. The baseline every number is compared to.
fn naive_floyd_warshall(g: &DenseGraph) -> (Vec<f64>, Vec<u16>) {
    let n = g.len();
    let ids = g.ids();
    let mut dist = vec![f64::INFINITY; n * n];
    let mut next = vec![u16::MAX; n * n];
    for s in 0..n {
        dist[s * n + s] = 0.0;
        for d in 0..n {
            if let Some(w) = g.edge(ids[s], ids[d]) {
                dist[s * n + d] = w.as_secs_f64();
                next[s * n + d] = d as u16;
            }
        }
    }
    for k in 0..n {
        for i in 0..n {
            let ik = dist[i * n + k];
            if ik == f64::INFINITY {
                continue;
            }
            for j in 0..n {
                let cand = ik + dist[k * n + j];
                if cand < dist[i * n + j] {
                    dist[i * n + j] = cand;
                    next[i * n + j] = next[i * n + k];
                }
            }
        }
    }
    (dist, next)
}

/// The same graph with an additional cost of 2 s on every node.
fn with_large_additional_costs(g: &DenseGraph) -> DenseGraph {
    let mut g = g.clone();
    for id in g.ids().to_vec() {
        let _ = g.set_additional_cost(id, micros(2_000_000));
    }
    g
}

fn full_solve(c: &mut Criterion) {
    eprintln!("solver kernels: {}", egd_routing::solver_isa());
    let mut group = c.benchmark_group("full");
    group.sampling_mode(SamplingMode::Flat);
    for n in SIZES {
        let g = random_dense(n, n as u64);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(if n >= 1024 { 8 } else { 3 }));
        group.bench_with_input(BenchmarkId::new("blocked", n), &g, |b, g| {
            b.iter(|| black_box(solve(black_box(g))))
        });
        let slow = with_large_additional_costs(&g);
        group.bench_with_input(BenchmarkId::new("slow-path", n), &slow, |b, g| {
            b.iter(|| black_box(solve(black_box(g))))
        });
        group.bench_with_input(BenchmarkId::new("naive", n), &g, |b, g| {
            b.iter(|| black_box(naive_floyd_warshall(black_box(g))))
        });
    }
    group.finish();
}

/// A heavily used edge: the first hop of node 1's path to the node whose
/// path from 1 is longest (so it carries 1's traffic to that far end and to
/// everything routed through it).
fn busy_edge(sol: &Solution) -> (NodeId, NodeId, Latency) {
    let ids = sol.ids();
    let src = ids[0];
    let far = ids
        .iter()
        .copied()
        .max_by_key(|&d| sol.hop_count(src, d).unwrap_or(0))
        .unwrap_or(src);
    let hop = sol.next_hop(src, far).unwrap_or(ids[1]);
    let weight = sol
        .distance_without_additional_cost(src, hop)
        .unwrap_or(Latency::ZERO);
    (src, hop, weight)
}

/// Times one change of a busy edge: `increase` raises it by 50 ms (the hard
/// case: every source routing over it is recomputed), `decrease` lowers it
/// back. Each timed change is undone untimed, so every iteration starts from
/// the same solution.
#[allow(clippy::disallowed_methods)] // a benchmark reads the clock
fn incremental(c: &mut Criterion) {
    let mut group = c.benchmark_group("incremental");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(2));
    for n in SIZES {
        let g = random_dense(n, n as u64);
        let Ok(mut sol) = solve(&g) else { continue };
        let (u, v, low) = busy_edge(&sol);
        let high = micros(low.as_micros() + 50_000);
        for (name, timed, undo) in [("increase", high, low), ("decrease", low, high)] {
            if name == "decrease" {
                let _ = sol.update_edge(u, v, Some(high));
            }
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let _ = black_box(sol.update_edge(u, v, Some(timed)));
                        total += start.elapsed();
                        let _ = sol.update_edge(u, v, Some(undo));
                    }
                    total
                })
            });
            if name == "decrease" {
                let _ = sol.update_edge(u, v, Some(low));
            }
        }
    }
    group.finish();
}

criterion_group!(benches, full_solve, incremental);
criterion_main!(benches);
