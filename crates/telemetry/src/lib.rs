//! switchyard-telemetry
