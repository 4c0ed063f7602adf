//! cohere adapter (in progress)
