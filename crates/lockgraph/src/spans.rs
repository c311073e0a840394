//! `SpanLayer`: a `tracing-subscriber` layer that tells lockgraph which span each thread is in, so every finding names it.
//!
//! Install it beside your other layers; from then on each thread a finding
//! describes is named with the innermost span it was in when the finding's
//! step happened (when the lock order was formed, when the wait began):
//! `thread "worker" (#3) in span "transfer{from=\"a\" to=\"b\"}"`. That
//! holds in every report format and offline: a recording keeps each
//! thread's span changes as `span` events.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! tracing_subscriber::registry()
//!     .with(lockgraph::spans::SpanLayer::new())
//!     .init();
//! let _test = tracing::info_span!("transfer_test").entered();
//! // A finding here names span "transfer_test".
//! ```
//!
//! A span's text (its name and fields) is built once, when it is created;
//! entering and leaving it costs a push or a pop on the thread's own
//! stack. After 4096 distinct texts, further spans are named by their name
//! alone, so spans that carry ids keep memory bounded. Without the
//! `instrument` feature the layer does nothing.

use std::fmt::{self, Write};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::backend;

/// The layer: see the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
pub struct SpanLayer {
    _private: (),
}

impl SpanLayer {
    /// A layer to add to a `tracing_subscriber::registry()`.
    pub fn new() -> Self {
        SpanLayer::default()
    }
}

/// What lockgraph knows of a span: its interned id and text.
struct Known(u64, Arc<str>);

/// Formats a span's fields as `key=value` pairs, values in `Debug` form.
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = write!(self.0, "{}={value:?}", field.name());
    }
}

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !backend::INSTRUMENTED {
            return;
        }
        let name = attrs.metadata().name();
        let mut fields = Fields(String::new());
        attrs.record(&mut fields);
        let text = if fields.0.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", fields.0)
        };
        if let (Some(span), Some((k, t))) = (ctx.span(id), backend::span_intern(&text, name)) {
            span.extensions_mut().insert(Known(k, t));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(k) = span.extensions().get::<Known>() {
                backend::span_enter(k.0, &k.1);
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(k) = span.extensions().get::<Known>() {
                backend::span_exit(k.0);
            }
        }
    }
}
