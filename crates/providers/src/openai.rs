//! openai adapter (in progress)
