//! The routing decision: choosing a backend for a new object and reserving its size (divan).

use s3_orchestrator::config::RoutingStrategy;
use s3_orchestrator::state::placement::Placement;

const GIB: u64 = 1 << 30;

fn main() {
    divan::main();
}

fn placement(strategy: RoutingStrategy, n: usize) -> Placement {
    let backends: Vec<(String, Option<u64>)> = (0..n)
        .map(|i| (format!("backend-{i}"), Some(100 * GIB)))
        .collect();
    let p = Placement::new(strategy, &backends);
    for (i, (name, _)) in backends.iter().enumerate() {
        p.set_usage(name, (i as u64 * 7919) % 50 * GIB, 10);
    }
    p
}

/// Reserve 4 KiB on the best backend and release it again (dropping the reservation).
#[divan::bench(args = [1, 3, 8, 32])]
fn spread_reserve(bencher: divan::Bencher, n: usize) {
    let p = placement(RoutingStrategy::Spread, n);
    bencher.bench_local(|| {
        let r = p.reserve(4096, &|_| true);
        assert!(r.is_some());
        r
    });
}

#[divan::bench(args = [1, 3, 8, 32])]
fn pack_reserve(bencher: divan::Bencher, n: usize) {
    let p = placement(RoutingStrategy::Pack, n);
    bencher.bench_local(|| {
        let r = p.reserve(4096, &|_| true);
        assert!(r.is_some());
        r
    });
}
