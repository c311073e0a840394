//! The harness itself: a scenario whose body fails can never pass.
//!
//! Each test here runs a body that is wrong on purpose and expects the
//! harness to fail the test (`should_panic` with the harness's message):
//! if the harness swallowed the body's panic again, these tests would fail.

use lockgraph::Mutex;
use lockgraph_detect::Kind;
use lockgraph_scenarios::{run_with, scenario, Options};

scenario! {
    #[should_panic(expected = "the scenario body panicked")]
    fn a_twin_whose_own_assertion_fails_fails_its_test() {
        let workers_finished = std::hint::black_box(9);
        assert_eq!(workers_finished, 10, "all ten workers finished");
    } => |out| { out.assert_silent(); }
}

scenario! {
    #[should_panic(expected = "the scenario body panicked")]
    fn a_finding_test_whose_body_fails_on_its_own_fails_its_test() {
        let m = Mutex::named("m", ());
        let _g = m.lock();
        panic!("not a lockgraph report");
    } => |out| {
        // Checks only the findings (there are none): the body's panic is
        // still not accounted for.
        assert!(out.findings.is_empty());
    }
}

scenario! {
    #[should_panic(expected = "expected the body to panic with a self_deadlock report, it returned")]
    fn expecting_a_panic_from_a_body_that_returned_fails() {
        let m = Mutex::named("m", ());
        drop(m.lock());
    } => |out| { out.expect_panic(Kind::SelfDeadlock); }
}

scenario! {
    #[should_panic(expected = "expected the body to panic with a deadlock report, it panicked with")]
    fn a_panic_of_another_kind_than_expected_fails() {
        let m = Mutex::named("m", ());
        let _g = m.lock();
        let _again = m.lock();
    } => |out| { out.expect_panic(Kind::Deadlock); }
}

#[test]
#[should_panic(expected = "the scenario body panicked")]
fn a_false_alarm_program_whose_assertion_fails_fails_its_test() {
    let out = run_with(
        "a_false_alarm_program_whose_assertion_fails_fails_its_test",
        Options::default(),
        || {
            let finished = std::hint::black_box(9);
            assert_eq!(finished, 10, "all ten workers finished");
        },
    );
    out.assert_silent();
}
