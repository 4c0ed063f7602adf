//! switchyard-routing
