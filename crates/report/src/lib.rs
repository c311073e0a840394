//! lockgraph-report: renders findings; one data model, several renderers.
//!
//! - [`Document`]: the model of one analysis (findings, accepted findings,
//!   stale baseline entries, stats, warnings).
//! - [`text`]: the report a person reads (panic messages, stderr, the CLI).
//! - [`json`]: one JSON document for machines.

mod document;
pub mod json;
pub mod text;

pub use document::{Accepted, Document, Stale, SCHEMA_VERSION};
pub use text::{render, render_all};
