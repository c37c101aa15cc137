//! Properties of the public API the race tool relies on.

/// The race tool may analyse on a thread of its own (decision 11), so
/// everything it keeps across errors must move there.
#[test]
fn state_kept_across_errors_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<hbgrind_report::Symbolizer>();
    assert_send::<hbgrind_report::SuppressionSet>();
    assert_send::<hbgrind_report::ErrorLog>();
    assert_send::<hbgrind_report::TextReporter>();
    assert_send::<hbgrind_report::XmlWriter<Vec<u8>>>();
}
