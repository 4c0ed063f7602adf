//! gemini adapter (in progress)
