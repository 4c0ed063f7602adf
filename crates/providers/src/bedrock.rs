//! bedrock adapter (in progress)
