//! switchyard-server
