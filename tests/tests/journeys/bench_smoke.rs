//! A brief run of each load scenario of the `bench` binary: they complete without errors.
//! (Figures come from the binary, never from the tests.)

use std::time::Duration;

use bench::load::{self, Load};

use crate::common::TestStack;

const SMOKE: Load = Load {
    clients: 2,
    flows: 6,
    max_time: Duration::from_secs(60),
    names_log_entry: true,
    rate: None,
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
    // Paced at 20 flows a second: the six flows' starts span at least 5 / 20 s.
    let paced = Load {
        rate: Some(20.0),
        ..SMOKE
    };
    let report = load::issuance(&t.stack, paced).await.expect("prepared");
    assert_eq!((report.completed, report.errors), (SMOKE.flows, 0));
    assert!(
        report.elapsed >= Duration::from_millis(250),
        "{:?}",
        report.elapsed
    );
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

/// Our SMTP sink, and a stack whose issuer sends to it `outbox_concurrency` at a time.
async fn stack_sending_to_a_sink(
    outbox_concurrency: usize,
) -> (bench::smtp_sink::SmtpSink, TestStack) {
    let sink = bench::smtp_sink::SmtpSink::start()
        .await
        .expect("the sink listens");
    let url = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(url));
        c.issuer.outbox_concurrency = outbox_concurrency;
    })
    .await;
    (sink, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_scenario_delivers_every_invitation() {
    // More deliveries at once than pooled SQLite connections (8), as in the benchmark.
    let (sink, t) = stack_sending_to_a_sink(32).await;
    let report = bench::bulk::bulk(
        t.issuer(),
        &sink,
        1_000,
        Duration::from_secs(120),
        true,
        bench::bulk::Addresses::Scrambled,
    )
    .await
    .expect("the scenario runs");
    assert!(report.clean(), "{}", report.table());
    assert_eq!(report.summary["records"], 1_000);
    assert_eq!(sink.accepted(), 1_000);
    t.stack.stop().await;
}

/// `--outbox-concurrency 0`: the issuer sends nothing, and the scenario stops at the
/// import (the import's rate alone, for the linearity figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_scenario_imports_alone_when_the_issuer_sends_nothing() {
    let (sink, t) = stack_sending_to_a_sink(0).await;
    let report = bench::bulk::bulk(
        t.issuer(),
        &sink,
        500,
        Duration::from_secs(60),
        false,
        bench::bulk::Addresses::Ordered,
    )
    .await
    .expect("the scenario runs");
    assert!(report.clean(), "{}", report.table());
    assert!(
        report.table().contains("nothing delivered"),
        "{}",
        report.table()
    );
    assert_eq!(report.summary["invited"], 500);
    assert_eq!(sink.accepted(), 0);
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_scenario_runs_clean() {
    let t = TestStack::start().await;
    let report = bench::verify_bench::verify(&t.stack, 10)
        .await
        .expect("the scenario runs");
    assert!(report.verified, "{}", report.table());
    assert!(
        report.checks.iter().any(|c| c == "status=ok"),
        "{:?}",
        report.checks
    );
    assert_eq!(report.steps.len(), 8);
    assert_eq!(report.raw.len(), 6);
    t.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_run_as_processes_and_report_their_memory_and_cpu() {
    let launch = bench::procs::Launch::Launcher(env!("CARGO_BIN_EXE_akashi-launcher").into());
    let database_url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let services = bench::procs::Services::start(&launch, database_url.as_deref(), None, None)
        .await
        .expect("the services start");
    let idle = services.memory();
    let prepared = load::prepare_presentation(&services.issuer.url, &services.verifier.url, SMOKE)
        .await
        .expect("prepared");
    let before = services.usage();
    let report = prepared.run().await;
    let used = services.usage();
    let after = services.memory();
    services.stop().await;
    // What each process used over the run, from /proc: the verifier checked every
    // presentation (CPU, and writes: SQLite's `pwrite64`, or the `write`s that wake its
    // threads; PostgreSQL's socket is read with `recvfrom`, which `syscr` does not count).
    let usage = |list: &[(&'static str, Result<bench::procs::Usage, _>)], name: &str| {
        list.iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, u)| u.as_ref().ok().copied())
            .expect("usage read")
    };
    let verifier = usage(&used, "verifier").since(&usage(&before, "verifier"));
    assert!(
        verifier.cpu_us > 0 && verifier.syscw > 0 && verifier.voluntary_switches > 0,
        "{verifier:?}"
    );
    // On PostgreSQL, the server's processes too: they share the cores and did the
    // presentations' reads and writes.
    let on_postgres = database_url.is_some();
    if on_postgres {
        let server = usage(&used, bench::procs::POSTGRES_SERVER)
            .since(&usage(&before, bench::procs::POSTGRES_SERVER));
        // Its CPU is counted in 10 ms ticks, which a smoke run may not fill.
        assert!(
            server.voluntary_switches > 0 && server.syscr + server.syscw > 0,
            "{server:?}"
        );
    }
    let table = bench::procs::usage_table(&before, &used, report.completed);
    assert_eq!(
        table.lines().count(),
        2 + 4 + usize::from(on_postgres),
        "{table}"
    );
    assert_eq!(
        (report.completed, report.errors),
        (SMOKE.flows, 0),
        "{:?}",
        report.first_error
    );
    for ((name, idle), (_, after)) in idle.iter().zip(&after) {
        let (idle, after) = (idle.expect("idle memory"), after.expect("memory"));
        assert!(
            idle.rss_kib > 0 && after.hwm_kib >= idle.rss_kib,
            "{name}: {idle:?} {after:?}"
        );
    }
}

/// `bench issuance|presentation --instances 2`: `deploy/run.sh 2` with HAProxy in front,
/// the scenarios through it, then a clean stop (PostgreSQL only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: run by ./test (deploy/run.sh with 2 instances of each service and HAProxy)"]
async fn scenarios_run_through_haproxy_with_two_instances_each() {
    let Some(database_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: --instances needs PostgreSQL; set TEST_DATABASE_URL");
        return;
    };
    let launcher = std::path::PathBuf::from(env!("CARGO_BIN_EXE_akashi-launcher"));
    // SQLite is refused with a reason, before anything starts.
    let refused = bench::deploy::Deployed::start(2, "sqlite://x.db", &launcher).await;
    assert!(
        matches!(refused, Err(bench::deploy::DeployError::NeedsPostgres)),
        "{:?}",
        refused.err()
    );
    let d = bench::deploy::Deployed::start(2, &database_url, &launcher)
        .await
        .expect("deploy/run.sh starts");
    assert_eq!(d.instances, 2);
    let issuance = load::issuance_at(&d.issuer, SMOKE).await.expect("prepared");
    assert_eq!(
        (issuance.completed, issuance.errors),
        (SMOKE.flows, 0),
        "{:?}",
        issuance.first_error
    );
    let presentation = load::presentation_at(&d.issuer, &d.verifier, SMOKE)
        .await
        .expect("prepared");
    assert_eq!(
        (presentation.completed, presentation.errors),
        (SMOKE.flows, 0),
        "{:?}",
        presentation.first_error
    );
    assert!(d.stop().await, "run.sh stops cleanly on SIGTERM");
}
