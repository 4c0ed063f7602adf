//! Configuration. `load` = read YAML -> substitute `${VAR}` -> deserialize -> `validate` (pure,
//! every error with its field path). Nothing is built or bound before validation passes.

pub mod provider;
pub use provider::*;
