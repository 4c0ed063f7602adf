//! anthropic adapter (in progress)
