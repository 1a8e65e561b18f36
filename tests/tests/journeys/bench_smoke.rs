//! A brief run of each load scenario of the `bench` binary: they complete without errors.
//! (Figures come from the binary, never from the tests.)

use std::time::Duration;

use akashi::load::{self, Load};

use crate::common::TestStack;

const SMOKE: Load = Load {
    clients: 2,
    flows: 6,
    max_time: Duration::from_secs(60),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_scenario_runs_clean() {
    let t = TestStack::start().await;
    let report = load::issuance(&t.stack, SMOKE).await.expect("prepared");
    assert_eq!(
        (report.completed, report.errors),
        (SMOKE.flows, 0),
        "{:?}",
        report.first_error
    );
    assert_eq!(report.latencies["credential"].len(), SMOKE.flows);
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presentation_scenario_runs_clean() {
    let t = TestStack::start().await;
    let report = load::presentation(&t.stack, SMOKE).await.expect("prepared");
    assert_eq!(
        (report.completed, report.errors),
        (SMOKE.flows, 0),
        "{:?}",
        report.first_error
    );
    assert_eq!(report.latencies["direct_post"].len(), SMOKE.flows);
    t.stack.stop().await;
}
