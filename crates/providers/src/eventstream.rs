//! eventstream adapter (in progress)
