//! lockgraph-report: renders findings; one data model, several renderers.
//!
//! - [`text`]: the report a person reads (panic messages, stderr, the CLI).
//! - [`json`]: one JSON document for machines.

pub mod json;
pub mod text;

pub use text::{render, render_all};
