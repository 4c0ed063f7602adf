//! mistral adapter (in progress)
